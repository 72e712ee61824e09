#include "model/engine.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

#include "io/binary.hpp"
#include "model/seeds.hpp"
#include "rng/stream.hpp"

namespace citynet::model {

using scenario::RuleKind;

Engine::Engine(const scenario::Scenario& scenario, const CityTable& cities,
               const net::Network& network, std::uint64_t run_key)
    : network_(network),
      rule_(scenario.rule),
      run_key_(run_key),
      n_(cities.size()),
      s_(static_cast<SolutionId>(scenario.solutions.size())),
      dt_(scenario.time.dt),
      start_(scenario.time.start) {
  const std::size_t slots = static_cast<std::size_t>(n_) * static_cast<std::size_t>(s_);
  cur_.assign(slots, 0);
  next_.assign(slots, 0);
  adopted_step_.assign(slots, -1);
  adopters_.assign(s_, 0);
  adopter_list_.resize(s_);
  new_begin_.assign(s_, 0);

  for (LayerId l = 0; l < static_cast<LayerId>(network.layers.size()); ++l) {
    const auto& layer = network.layers[l];
    const bool listed = rule_.layers.empty() || std::find(rule_.layers.begin(), rule_.layers.end(),
                                                          layer.name) != rule_.layers.end();
    if (listed && layer.influence > 0.0f) exposure_.push_back({&layer, l, layer.influence});
  }

  phase_seed_ = timers_.add("seed");
  phase_decide_ = timers_.add("decide");
  phase_record_ = timers_.add("record");

  seeds_ = resolve_seeds(scenario, cities, run_key);
  for (SolutionId s = 0; s < s_; ++s) {
    VariantRow v{s, s, -1, -1, 0, 1.0f, {}};
    const auto& ideal = scenario.solutions[s].model.ideal;
    for (int d = 0; d < scenario::kContextDims; ++d)
      v.design[d] = static_cast<float>(d < static_cast<int>(ideal.size()) ? ideal[d] : 0.5);
    for (const auto& sd : seeds_)
      if (sd.solution == s) {
        v.creator = sd.city;
        break;
      }
    variants_.push_back(v);
  }
  draw_thresholds(scenario.rule);
}

void Engine::draw_thresholds(const scenario::RuleSpec& rule) {
  if (rule.kind != RuleKind::kFractionalThreshold) return;
  threshold_.assign(cur_.size(), 0.0f);
  tbb::parallel_for(tbb::blocked_range<CityId>(0, n_), [&](const tbb::blocked_range<CityId>& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      rng::Stream rng(run_key_, 0, static_cast<std::uint32_t>(c), rng::Purpose::kThreshold);
      for (SolutionId s = 0; s < s_; ++s) {
        double t = rule.threshold_mean;
        switch (rule.threshold_distribution) {
          case scenario::ThresholdDistribution::kFixed:
            break;
          case scenario::ThresholdDistribution::kUniform:
            t = rule.threshold_min + (rule.threshold_max - rule.threshold_min) * rng.uniform();
            break;
          case scenario::ThresholdDistribution::kNormal:
            t = std::clamp(rng.normal(rule.threshold_mean, rule.threshold_sd), 0.0, 1.0);
            break;
        }
        threshold_[index(c, s)] = static_cast<float>(t);
      }
    }
  });
}

const std::vector<Event>& Engine::initialise() {
  events_.clear();
  apply_seeds(0);
  record();
  std::copy(next_.begin(), next_.end(), cur_.begin());
  return events_;
}

const std::vector<Event>& Engine::step() {
  events_.clear();
  {
    PhaseTimers::Scope t(timers_, phase_decide_);
    decide();
  }
  {
    PhaseTimers::Scope t(timers_, phase_seed_);
    apply_seeds(step_ + 1);
  }
  {
    PhaseTimers::Scope t(timers_, phase_record_);
    ++step_;
    record();
    cur_.swap(next_);
  }
  return events_;
}

void Engine::save_state(std::ostream& out) const {
  io::BinaryOut b(out);
  b.put(step_);
  b.put(static_cast<std::uint64_t>(next_seed_));
  b.put(cur_);
  b.put(adopted_step_);
  b.put(adopters_);
  b.put(adopter_list_);
  std::vector<std::uint64_t> begins(new_begin_.begin(), new_begin_.end());
  b.put(begins);
}

void Engine::load_state(std::istream& in, const std::string& name) {
  io::BinaryIn b(in, name);
  std::uint64_t next_seed = 0;
  std::vector<std::uint64_t> begins;
  b.get(step_);
  b.get(next_seed);
  b.get(cur_);
  b.get(adopted_step_);
  b.get(adopters_);
  b.get(adopter_list_);
  b.get(begins);
  if (cur_.size() != next_.size() || adopted_step_.size() != next_.size() ||
      adopters_.size() != static_cast<std::size_t>(s_) || begins.size() != new_begin_.size())
    b.fail();
  next_seed_ = static_cast<std::size_t>(next_seed);
  new_begin_.assign(begins.begin(), begins.end());
}

void Engine::apply_seeds(Step step) {
  // Seeds join after the parallel phase, in (city, solution) order; a city that adopted through
  // its peers before its historical date keeps that adoption.
  std::vector<Event> seeded;
  while (next_seed_ < seeds_.size() && seeds_[next_seed_].step <= step) {
    const auto& sd = seeds_[next_seed_++];
    const std::size_t i = index(sd.city, sd.solution);
    if (next_[i] || cur_[i]) continue;
    next_[i] = 1;
    seeded.push_back({step, sd.city, sd.solution, EventKind::kSeed, -1, -1});
  }
  events_.insert(events_.end(), seeded.begin(), seeded.end());
}

void Engine::record() {
  std::sort(events_.begin(), events_.end(), event_order);
  for (std::size_t s = 0; s < new_begin_.size(); ++s) new_begin_[s] = adopter_list_[s].size();
  for (Event& e : events_) {
    if (e.kind != EventKind::kSeed && e.kind != EventKind::kAdopt) continue;
    // Classic rules have one variant per solution, the solution's own (row s of /variants).
    e.variant = e.solution;
    if (e.kind == EventKind::kAdopt && e.mechanism == Mechanism::kNone)
      e.mechanism = Mechanism::kImitation;
    adopted_step_[index(e.city, e.solution)] = e.step;
    adopter_list_[e.solution].push_back(e.city);
    ++adopters_[e.solution];
  }
}

void Engine::decide() {
  switch (rule_.kind) {
    case RuleKind::kBass:
      decide_with<RuleKind::kBass>();
      break;
    case RuleKind::kFractionalThreshold:
      decide_with<RuleKind::kFractionalThreshold>();
      break;
    case RuleKind::kCountThreshold:
      decide_with<RuleKind::kCountThreshold>();
      break;
    case RuleKind::kIndependentCascade:
      decide_with<RuleKind::kIndependentCascade>();
      break;
    case RuleKind::kCity:  // run by CityModel
      break;
  }
}

namespace {

// Per-thread scratch, sized once per run so the city loop never allocates.
struct Scratch {
  std::vector<double> share;        // [solution] combined weighted share of adopted neighbours
  std::vector<double> layer_share;  // [layer * solutions + solution]
  std::vector<std::int64_t> count;  // [solution] adopted neighbours over all exposure layers
  std::vector<double> acc;          // [solution]
  std::vector<Event> events;
};

}  // namespace

template <RuleKind R>
void Engine::decide_with() {
  const std::size_t S = static_cast<std::size_t>(s_);
  const std::size_t L = exposure_.size();
  const Step step = step_;
  const Step new_step = step_ + 1;
  // Allocated per step, not per city: a handful of vectors per thread.
  tbb::enumerable_thread_specific<Scratch> scratch([&] {
    Scratch sc;
    sc.share.resize(S);
    sc.layer_share.resize(L * S);
    sc.count.resize(S);
    sc.acc.resize(S);
    return sc;
  });
  const double denom_complete = n_ > 1 ? static_cast<double>(n_ - 1) : 1.0;
  const double dt = dt_;

  tbb::parallel_for(
      tbb::blocked_range<CityId>(0, n_, 256), [&](const tbb::blocked_range<CityId>& r) {
        Scratch& sc = scratch.local();
        for (CityId c = r.begin(); c != r.end(); ++c) {
          const std::size_t row = static_cast<std::size_t>(c) * S;
          std::size_t open = 0;
          for (std::size_t s = 0; s < S; ++s) {
            next_[row + s] = cur_[row + s];
            open += cur_[row + s] == 0;
          }
          if (open == 0) continue;

          if constexpr (R == RuleKind::kIndependentCascade) {
            // Each city adopted in the previous step has one chance per tie, drawn here on the
            // receiving side in a fixed (layer, tie) order.
            for (std::size_t s = 0; s < S; ++s) {
              if (cur_[row + s]) continue;
              rng::Stream rng(run_key_, new_step, static_cast<std::uint32_t>(c),
                              rng::Purpose::kCascade, static_cast<std::uint32_t>(s));
              bool done = false;
              for (std::size_t li = 0; li < L && !done; ++li) {
                const auto& ex = exposure_[li];
                const net::Layer& layer = *ex.layer;
                if (layer.complete) {
                  const auto& list = adopter_list_[s];
                  const std::size_t fresh = list.size() - new_begin_[s];
                  if (fresh == 0) continue;
                  const double miss =
                      std::pow(1.0 - rule_.transmission, static_cast<double>(fresh));
                  if (rng.uniform() < 1.0 - miss) {
                    const CityId src = list[new_begin_[s] + rng.below(fresh)];
                    next_[row + s] = 1;
                    sc.events.push_back(
                        {new_step, c, static_cast<SolutionId>(s), EventKind::kAdopt, src, ex.id});
                    done = true;
                  }
                  continue;
                }
                for (std::int64_t e = layer.offsets[c]; e < layer.offsets[c + 1]; ++e) {
                  const CityId j = layer.targets[e];
                  if (adopted_step_[static_cast<std::size_t>(j) * S + s] != step) continue;
                  const double p = std::min(1.0, rule_.transmission * layer.weights[e]);
                  if (rng.uniform() < p) {
                    next_[row + s] = 1;
                    sc.events.push_back(
                        {new_step, c, static_cast<SolutionId>(s), EventKind::kAdopt, j, ex.id});
                    done = true;
                    break;
                  }
                }
              }
            }
            continue;
          } else {
            // Exposure: per layer, the weighted share (or count) of adopted neighbours; layers
            // combine by influence over the layers where the city has ties.
            std::fill(sc.share.begin(), sc.share.end(), 0.0);
            std::fill(sc.count.begin(), sc.count.end(), 0);
            double influence_sum = 0.0;
            for (std::size_t li = 0; li < L; ++li) {
              const auto& ex = exposure_[li];
              const net::Layer& layer = *ex.layer;
              double* ls = &sc.layer_share[li * S];
              if (layer.complete) {
                if (n_ < 2) {
                  std::fill(ls, ls + S, 0.0);
                  continue;
                }
                for (std::size_t s = 0; s < S; ++s) {
                  const std::int64_t others = adopters_[s] - cur_[row + s];
                  ls[s] = static_cast<double>(others) / denom_complete;
                  sc.count[s] += others;
                }
              } else {
                const std::int64_t b = layer.offsets[c], e = layer.offsets[c + 1];
                if (b == e) {
                  std::fill(ls, ls + S, 0.0);
                  continue;
                }
                double wsum = 0.0;
                if (S == 1) {
                  // One solution: keep the sums in registers (the general loop below goes
                  // through memory, as the state bytes may alias the scratch vector).
                  const CityId* __restrict targets = layer.targets.data();
                  const float* __restrict weights = layer.weights.data();
                  const std::uint8_t* __restrict state = cur_.data();
                  double acc = 0.0;
                  std::int64_t count = 0;
                  for (std::int64_t k = b; k < e; ++k) {
                    const std::uint8_t a = state[targets[k]];
                    wsum += weights[k];
                    acc += a ? static_cast<double>(weights[k]) : 0.0;
                    count += a;
                  }
                  if constexpr (R == RuleKind::kCountThreshold) sc.count[0] += count;
                  ls[0] = wsum > 0.0 ? acc / wsum : 0.0;
                  influence_sum += ex.influence;
                  sc.share[0] += ex.influence * ls[0];
                  continue;
                }
                std::fill(sc.acc.begin(), sc.acc.end(), 0.0);
                for (std::int64_t k = b; k < e; ++k) {
                  const std::size_t nb = static_cast<std::size_t>(layer.targets[k]) * S;
                  const double w = layer.weights[k];
                  wsum += w;
                  for (std::size_t s = 0; s < S; ++s) {
                    sc.acc[s] += w * cur_[nb + s];
                    if constexpr (R == RuleKind::kCountThreshold) sc.count[s] += cur_[nb + s];
                  }
                }
                for (std::size_t s = 0; s < S; ++s) ls[s] = wsum > 0.0 ? sc.acc[s] / wsum : 0.0;
              }
              influence_sum += ex.influence;
              for (std::size_t s = 0; s < S; ++s) sc.share[s] += ex.influence * ls[s];
            }
            if (influence_sum > 0.0)
              for (std::size_t s = 0; s < S; ++s) sc.share[s] /= influence_sum;

            for (std::size_t s = 0; s < S; ++s) {
              if (cur_[row + s]) continue;
              bool adopt = false;
              bool innovation = false;
              rng::Stream rng(run_key_, new_step, static_cast<std::uint32_t>(c),
                              rng::Purpose::kDecide, static_cast<std::uint32_t>(s));
              if constexpr (R == RuleKind::kBass) {
                const double imitation = rule_.q * sc.share[s];
                const double rate = rule_.p + imitation;
                adopt = rng.uniform() < -std::expm1(-dt * rate);
                innovation = adopt && rng.uniform() * rate < rule_.p;
              } else if constexpr (R == RuleKind::kFractionalThreshold) {
                adopt = sc.share[s] > 0.0 && sc.share[s] >= threshold_[row + s];
              } else {
                adopt = sc.count[s] > 0 && sc.count[s] >= rule_.count_k;
              }
              if (!adopt) continue;
              next_[row + s] = 1;
              Event ev{new_step, c, static_cast<SolutionId>(s), EventKind::kAdopt, -1, -1};
              if (innovation) ev.mechanism = Mechanism::kInnovation;
              if (!innovation) {
                if constexpr (R == RuleKind::kBass) {
                  // Imitation: the layer in proportion to its influence-weighted share, then an
                  // adopted neighbour in proportion to the tie weight.
                  double target = rng.uniform() * sc.share[s] * influence_sum;
                  std::size_t pick = L;
                  for (std::size_t li = 0; li < L; ++li) {
                    const double part = exposure_[li].influence * sc.layer_share[li * S + s];
                    if (part <= 0.0) continue;
                    pick = li;
                    target -= part;
                    if (target < 0.0) break;
                  }
                  if (pick < L) {
                    const net::Layer& layer = *exposure_[pick].layer;
                    ev.layer = exposure_[pick].id;
                    if (layer.complete) {
                      const auto& list = adopter_list_[s];
                      ev.source = list[rng.below(list.size())];
                    } else {
                      double total = 0.0;
                      for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k)
                        total += layer.weights[k] *
                                 cur_[static_cast<std::size_t>(layer.targets[k]) * S + s];
                      double t2 = rng.uniform() * total;
                      for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
                        const CityId j = layer.targets[k];
                        if (!cur_[static_cast<std::size_t>(j) * S + s]) continue;
                        ev.source = j;
                        t2 -= layer.weights[k];
                        if (t2 < 0.0) break;
                      }
                    }
                  }
                } else {
                  // Thresholds: credit the tie to the neighbour that adopted last (it tipped the
                  // city), earliest layer first on ties.
                  Step best = -1;
                  for (std::size_t li = 0; li < L; ++li) {
                    const net::Layer& layer = *exposure_[li].layer;
                    if (layer.complete) {
                      const auto& list = adopter_list_[s];
                      if (!list.empty()) {
                        const CityId j = list.back();
                        if (adopted_step_[static_cast<std::size_t>(j) * S + s] > best) {
                          best = adopted_step_[static_cast<std::size_t>(j) * S + s];
                          ev.source = j;
                          ev.layer = exposure_[li].id;
                        }
                      }
                      continue;
                    }
                    for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
                      const std::size_t j = static_cast<std::size_t>(layer.targets[k]) * S + s;
                      if (cur_[j] && adopted_step_[j] > best) {
                        best = adopted_step_[j];
                        ev.source = layer.targets[k];
                        ev.layer = exposure_[li].id;
                      }
                    }
                  }
                }
              }
              sc.events.push_back(ev);
            }
          }
        }
      });
  for (auto& sc : scratch) {
    events_.insert(events_.end(), sc.events.begin(), sc.events.end());
    sc.events.clear();
  }
}

}  // namespace citynet::model
