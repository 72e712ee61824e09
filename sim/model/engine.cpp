#include "model/engine.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/parallel.hpp"
#include "io/binary.hpp"
#include "model/seeds.hpp"
#include "rng/stream.hpp"

namespace citynet::model {

using scenario::RuleKind;

Engine::Engine(const scenario::Scenario& scenario, const CityTable& cities,
               const net::Network& network, std::uint64_t run_key, Kernel kernel)
    : network_(network),
      rule_(scenario.rule),
      run_key_(run_key),
      n_(cities.size()),
      s_(static_cast<SolutionId>(scenario.solutions.size())),
      dt_(scenario.time.dt),
      start_(scenario.time.start) {
  const std::size_t slots = static_cast<std::size_t>(n_) * static_cast<std::size_t>(s_);
  // Row widths of 1, 2, 4 or a multiple of 8 bytes, so that the bit-sliced kernel reads a row as
  // one machine word.
  const auto bytes = static_cast<std::size_t>((s_ + 7) / 8);
  row_bytes_ = bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : (bytes + 7) / 8 * 8;
  const std::size_t words = (static_cast<std::size_t>(n_) * row_bytes_ + 7) / 8;
  parallel_assign<std::uint64_t>(cur_, words, 0);
  parallel_assign<std::uint64_t>(next_, words, 0);
  parallel_assign<Step>(adopted_step_, slots, -1);
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
  if (kernel == Kernel::kAuto) prepare_bitsliced();
}

void Engine::draw_thresholds(const scenario::RuleSpec& rule) {
  if (rule.kind != RuleKind::kFractionalThreshold) return;
  // A fixed threshold is one number, not a copy per city and solution: at 10^7 cities x 64
  // solutions the copies were 2.56 GB, written on one thread before the draw and then, by the
  // bit-sliced kernel, dropped unread.
  if (rule.threshold_distribution == scenario::ThresholdDistribution::kFixed) {
    threshold_.assign(1, static_cast<float>(rule.threshold_mean));
    return;
  }
  threshold_.clear();
  threshold_.resize(adopted_step_.size());  // uninitialised: the loop writes every slot
  citynet::parallel_for(
      tbb::blocked_range<CityId>(0, n_), [&](const tbb::blocked_range<CityId>& r) {
        for (CityId c = r.begin(); c != r.end(); ++c) {
          rng::Stream rng(run_key_, 0, static_cast<std::uint32_t>(c), rng::Purpose::kThreshold);
          for (SolutionId s = 0; s < s_; ++s) {
            double t = rule.threshold_mean;
            switch (rule.threshold_distribution) {
              case scenario::ThresholdDistribution::kFixed:  // handled above
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
  // One byte per slot: the checkpoint format predates the bit rows and does not depend on them.
  std::vector<std::uint8_t> state(adopted_step_.size());
  for (CityId c = 0; c < n_; ++c)
    for (SolutionId s = 0; s < s_; ++s) state[index(c, s)] = bit(row(cur_, c), s) ? 1 : 0;
  b.put(state);
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
  std::vector<std::uint8_t> state;
  b.get(step_);
  b.get(next_seed);
  b.get(state);
  b.get(adopted_step_);
  b.get(adopters_);
  b.get(adopter_list_);
  b.get(begins);
  if (state.size() != adopted_step_.size() || adopters_.size() != static_cast<std::size_t>(s_) ||
      begins.size() != new_begin_.size())
    b.fail();
  std::fill(cur_.begin(), cur_.end(), 0);
  for (CityId c = 0; c < n_; ++c)
    for (SolutionId s = 0; s < s_; ++s)
      if (state[index(c, s)]) set_bit(row(cur_, c), s);
  next_seed_ = static_cast<std::size_t>(next_seed);
  new_begin_.assign(begins.begin(), begins.end());
}

void Engine::apply_seeds(Step step) {
  // Seeds join after the parallel phase, in (city, solution) order; a city that adopted through
  // its peers before its historical date keeps that adoption.
  std::vector<Event> seeded;
  while (next_seed_ < seeds_.size() && seeds_[next_seed_].step <= step) {
    const auto& sd = seeds_[next_seed_++];
    if (bit(row(next_, sd.city), sd.solution) || bit(row(cur_, sd.city), sd.solution)) continue;
    set_bit(row(next_, sd.city), sd.solution);
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
      if (bitsliced_)
        decide_bitsliced_any();
      else
        decide_with<RuleKind::kFractionalThreshold>();
      break;
    case RuleKind::kCountThreshold:
      if (bitsliced_)
        decide_bitsliced_any();
      else
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

  citynet::parallel_for(
      tbb::blocked_range<CityId>(0, n_, 256), [&](const tbb::blocked_range<CityId>& r) {
        Scratch& sc = scratch.local();
        for (CityId c = r.begin(); c != r.end(); ++c) {
          const unsigned char* have = row(cur_, c);
          unsigned char* out = row(next_, c);
          std::memcpy(out, have, row_bytes_);
          std::size_t held = 0;
          for (std::size_t b = 0; b < row_bytes_; ++b) held += std::popcount(have[b]);
          if (held == S) continue;

          if constexpr (R == RuleKind::kIndependentCascade) {
            // Each city adopted in the previous step has one chance per tie, drawn here on the
            // receiving side in a fixed (layer, tie) order.
            for (std::size_t s = 0; s < S; ++s) {
              if (bit(have, static_cast<SolutionId>(s))) continue;
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
                    set_bit(out, static_cast<SolutionId>(s));
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
                    set_bit(out, static_cast<SolutionId>(s));
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
                  const std::int64_t others = adopters_[s] - bit(have, static_cast<SolutionId>(s));
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
                  // through memory, as the state bytes may alias the scratch vector). A row is
                  // one byte holding 0 or 1.
                  const CityId* __restrict targets = layer.targets.data();
                  const float* __restrict weights = layer.weights.data();
                  const auto* __restrict state =
                      reinterpret_cast<const unsigned char*>(cur_.data());
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
                  const unsigned char* nb = row(cur_, layer.targets[k]);
                  const double w = layer.weights[k];
                  wsum += w;
                  // Only the neighbour's adopted solutions add to the sums (adding 0 would not
                  // change them).
                  for (std::size_t byte = 0; byte < row_bytes_; ++byte)
                    for (unsigned bits = nb[byte]; bits != 0; bits &= bits - 1) {
                      const std::size_t s =
                          byte * 8 + static_cast<std::size_t>(std::countr_zero(bits));
                      sc.acc[s] += w;
                      if constexpr (R == RuleKind::kCountThreshold) ++sc.count[s];
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
              if (bit(have, static_cast<SolutionId>(s))) continue;
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
                adopt =
                    sc.share[s] > 0.0 && sc.share[s] >= threshold(c, static_cast<SolutionId>(s));
              } else {
                adopt = sc.count[s] > 0 && sc.count[s] >= rule_.count_k;
              }
              if (!adopt) continue;
              set_bit(out, static_cast<SolutionId>(s));
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
                        if (bit(row(cur_, layer.targets[k]), static_cast<SolutionId>(s)))
                          total += layer.weights[k];
                      double t2 = rng.uniform() * total;
                      for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
                        const CityId j = layer.targets[k];
                        if (!bit(row(cur_, j), static_cast<SolutionId>(s))) continue;
                        ev.source = j;
                        t2 -= layer.weights[k];
                        if (t2 < 0.0) break;
                      }
                    }
                  }
                } else {
                  credit_last_adopter(ev);
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

void Engine::credit_last_adopter(Event& ev) const {
  // Thresholds: credit the tie to the neighbour that adopted last (it tipped the city), earliest
  // layer first on ties.
  const CityId c = ev.city;
  const SolutionId s = ev.solution;
  Step best = -1;
  for (const auto& ex : exposure_) {
    const net::Layer& layer = *ex.layer;
    if (layer.complete) {
      const auto& list = adopter_list_[s];
      if (!list.empty() && adopted_step_[index(list.back(), s)] > best) {
        best = adopted_step_[index(list.back(), s)];
        ev.source = list.back();
        ev.layer = ex.id;
      }
      continue;
    }
    for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
      const CityId j = layer.targets[k];
      if (bit(row(cur_, j), s) && adopted_step_[index(j, s)] > best) {
        best = adopted_step_[index(j, s)];
        ev.source = j;
        ev.layer = ex.id;
      }
    }
  }
}

namespace {

// Neighbour counts are held in bit planes; a degree needs bit_width(degree) of them.
constexpr int kMaxPlanes = 32;

template <class Word>
Word load_word(const unsigned char* p) {
  Word w;
  std::memcpy(&w, p, sizeof(Word));
  return w;
}

template <class Word>
void store_word(unsigned char* p, Word w) {
  std::memcpy(p, &w, sizeof(Word));
}

// Adds the rows of cities targets[b..e) into the bit-sliced counters plane[0..planes): a
// ripple-carry add per tie. With P > 0 the plane count is P, fixed at compile time, and the
// planes stay in registers; P = 0 takes `planes` at run time.
template <class Word, int P>
void add_rows(int planes, Word* plane, const unsigned char* __restrict rows,
              const CityId* __restrict targets, std::int64_t b, std::int64_t e) {
  const int count = P > 0 ? P : planes;
  Word p[P > 0 ? P : kMaxPlanes];
  for (int i = 0; i < count; ++i) p[i] = plane[i];
  for (std::int64_t k = b; k < e; ++k) {
    Word carry = load_word<Word>(rows + static_cast<std::size_t>(targets[k]) * sizeof(Word));
    for (int i = 0; i < count; ++i) {
      const Word t = static_cast<Word>(p[i] & carry);
      p[i] = static_cast<Word>(p[i] ^ carry);
      carry = t;
    }
  }
  for (int i = 0; i < count; ++i) plane[i] = p[i];
}

template <class Word>
void add_rows_any(int planes, Word* plane, const unsigned char* rows, const CityId* targets,
                  std::int64_t b, std::int64_t e) {
  switch (planes) {
    case 0:
      return;
    case 1:
      return add_rows<Word, 1>(planes, plane, rows, targets, b, e);
    case 2:
      return add_rows<Word, 2>(planes, plane, rows, targets, b, e);
    case 3:
      return add_rows<Word, 3>(planes, plane, rows, targets, b, e);
    case 4:
      return add_rows<Word, 4>(planes, plane, rows, targets, b, e);
    case 5:
      return add_rows<Word, 5>(planes, plane, rows, targets, b, e);
    case 6:
      return add_rows<Word, 6>(planes, plane, rows, targets, b, e);
    case 7:
      return add_rows<Word, 7>(planes, plane, rows, targets, b, e);
    case 8:
      return add_rows<Word, 8>(planes, plane, rows, targets, b, e);
    default:
      return add_rows<Word, 0>(planes, plane, rows, targets, b, e);
  }
}

}  // namespace

double Engine::share_of(std::int64_t count, std::int64_t degree) const {
  // The general kernel's operations in its order (share of the layer, weighted by its influence,
  // over the influence sum), so that both kernels adopt in exactly the same cities.
  const double influence = exposure_.front().influence;
  const double layer_share = static_cast<double>(count) / static_cast<double>(degree);
  double share = 0.0;
  share += influence * layer_share;
  double influence_sum = 0.0;
  influence_sum += influence;
  share /= influence_sum;
  return share;
}

namespace {

// The smallest count in [1, degree] whose share passes `at_least`, else degree + 1 (never
// reached: a count is at most the degree). `share(k)` grows with k and is k / degree up to
// rounding, so the answer is at or next to ceil(at_least * degree) and is found from there by
// steps of one. A binary search over [1, degree], its divisions redone for every solution, was
// 40 % of the CPU of a 1-step run of 10^6 cities x 64 solutions with uniform thresholds.
template <class Share>
std::int64_t first_count(double at_least, std::int64_t degree, const Share& share) {
  if (degree == 0) return 1;  // no neighbours: never
  auto passes = [&](std::int64_t k) {
    const double x = share(k);
    return x > 0.0 && x >= at_least;
  };
  const double guess = std::ceil(at_least * static_cast<double>(degree));
  std::int64_t k = guess >= static_cast<double>(degree) ? degree
                   : guess > 1.0                        ? static_cast<std::int64_t>(guess)
                                                        : 1;
  if (passes(k)) {
    while (k > 1 && passes(k - 1)) --k;
    return k;
  }
  while (k <= degree && !passes(k)) ++k;
  return k;
}

}  // namespace

std::int64_t Engine::needed(CityId c, SolutionId s, std::int64_t degree) const {
  const std::int64_t never = degree + 1;
  if (rule_.kind == RuleKind::kCountThreshold)
    return std::min<std::int64_t>(std::max<std::int64_t>(rule_.count_k, 1), never);
  return first_count(threshold(c, s), degree, [&](std::int64_t k) { return share_of(k, degree); });
}

void Engine::prepare_bitsliced() {
  // Where a city's decision depends only on how many of its neighbours adopted, the neighbour
  // counts of all solutions can be added at once, bit-sliced, a tie costing one read of the
  // neighbour's row. That holds for the count threshold on tied layers, and for the fractional
  // threshold on one layer whose ties all weigh 1 (the share is then count / degree).
  if (rule_.kind != RuleKind::kFractionalThreshold && rule_.kind != RuleKind::kCountThreshold)
    return;
  if (exposure_.empty() || s_ > 64) return;
  for (const auto& ex : exposure_)
    if (ex.layer->complete) return;
  if (rule_.kind == RuleKind::kFractionalThreshold) {
    if (exposure_.size() != 1) return;
    const auto& w = exposure_.front().layer->weights;
    if (!std::all_of(w.begin(), w.end(), [](float x) { return x == 1.0f; })) return;
  }
  auto degree = [&](CityId c) {
    std::int64_t d = 0;
    for (const auto& ex : exposure_) d += ex.layer->degree(c);
    return d;
  };
  std::int64_t max_degree = 0;
  for (CityId c = 0; c < n_; ++c) max_degree = std::max(max_degree, degree(c));
  planes_ = std::bit_width(static_cast<std::uint64_t>(max_degree + 1));
  if (planes_ > kMaxPlanes) return;

  // A fixed threshold, or the count rule, needs the same count of every city of equal degree:
  // one table by degree then replaces the per-city data.
  if (rule_.kind == RuleKind::kCountThreshold ||
      rule_.threshold_distribution == scenario::ThresholdDistribution::kFixed) {
    need_by_degree_.resize(static_cast<std::size_t>(max_degree) + 1);
    // Every city shares threshold_[0] here.
    for (std::int64_t d = 0; d <= max_degree; ++d)
      need_by_degree_[static_cast<std::size_t>(d)] = static_cast<std::int32_t>(needed(0, 0, d));
  } else if (s_ == 1) {
    need_.resize(static_cast<std::size_t>(n_));
    citynet::parallel_for(tbb::blocked_range<CityId>(0, n_), [&](const auto& r) {
      for (CityId c = r.begin(); c != r.end(); ++c)
        need_[c] = static_cast<std::int32_t>(needed(c, 0, degree(c)));
    });
  } else {
    // Plane p of city c is a row-wide word whose bit s is bit p of solution s's count needed.
    const std::size_t stride = static_cast<std::size_t>(planes_) * row_bytes_;
    parallel_assign<std::uint64_t>(need_planes_, (static_cast<std::size_t>(n_) * stride + 7) / 8,
                                   0);
    auto* planes = reinterpret_cast<unsigned char*>(need_planes_.data());
    citynet::parallel_for(tbb::blocked_range<CityId>(0, n_), [&](const auto& r) {
      // A city's shares, one per count, serve all its solutions: the divisions are done once.
      std::vector<double> shares;
      for (CityId c = r.begin(); c != r.end(); ++c) {
        const std::int64_t d = degree(c);
        shares.resize(static_cast<std::size_t>(d) + 1);
        for (std::int64_t k = 1; k <= d; ++k) shares[static_cast<std::size_t>(k)] = share_of(k, d);
        unsigned char* city = planes + static_cast<std::size_t>(c) * stride;
        for (SolutionId s = 0; s < s_; ++s) {
          const std::int64_t need = first_count(threshold(c, s), d, [&](std::int64_t k) {
            return shares[static_cast<std::size_t>(k)];
          });
          for (int p = 0; p < planes_; ++p)
            if ((need >> p) & 1) set_bit(city + static_cast<std::size_t>(p) * row_bytes_, s);
        }
      }
    });
  }
  for (const auto& ex : exposure_)
    csr_.push_back({ex.layer->offsets.data(), ex.layer->targets.data()});
  // The counts needed stand for the thresholds from here on.
  UninitVector<float>().swap(threshold_);
  bitsliced_ = true;
}

void Engine::decide_bitsliced_any() {
  if (csr_.size() == 1) return decide_bitsliced_rows<true>();
  return decide_bitsliced_rows<false>();
}

template <bool kOneLayer>
void Engine::decide_bitsliced_rows() {
  if (s_ == 1) return decide_one_solution<kOneLayer>();
  switch (row_bytes_) {
    case 1:
      return decide_bitsliced<std::uint8_t, kOneLayer>();
    case 2:
      return decide_bitsliced<std::uint16_t, kOneLayer>();
    case 4:
      return decide_bitsliced<std::uint32_t, kOneLayer>();
    default:
      return decide_bitsliced<std::uint64_t, kOneLayer>();
  }
}

namespace {

// A run of the one-solution kernel: at most this many cities, and ties on each layer.
constexpr CityId kRunCities = 1024;
constexpr std::int64_t kRunTies = 8192;

}  // namespace

template <bool kOneLayer>
void Engine::decide_one_solution() {
  // A loop per city over its ties ends in a branch that depends on the city's degree, which the
  // predictor cannot foresee: that loop took 1.3 ns a tie at 10^5 cities, this one 0.3 ns. A run
  // of cities gathers all its ties in one loop into a running count of adopted neighbours, and a
  // city's count is the difference of the running count at the ends of its row. Cities that
  // adopted need no count; where most of a run has, the per-city loop, which skips them, is
  // cheaper.
  const Step new_step = step_ + 1;
  const auto* cur_rows = reinterpret_cast<const std::uint8_t*>(cur_.data());
  auto* next_rows = reinterpret_cast<std::uint8_t*>(next_.data());
  const std::int32_t* need_by_degree = need_by_degree_.empty() ? nullptr : need_by_degree_.data();
  const std::int32_t* need_by_city = need_.data();
  tbb::enumerable_thread_specific<std::vector<Event>> found;

  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kRunCities), [&](const auto& r) {
    // Locals, not captures: the byte stores to `next` could alias anything read through them.
    const std::uint8_t* __restrict cur = cur_rows;
    std::uint8_t* __restrict next = next_rows;
    const std::int32_t* by_degree = need_by_degree;
    const std::int32_t* by_city = need_by_city;
    const Csr first = csr_.front();
    const Csr* layers = kOneLayer ? &first : csr_.data();
    const std::size_t layer_count = kOneLayer ? 1 : csr_.size();
    std::vector<Event>* events = nullptr;
    std::uint32_t running[kRunTies + 1];
    std::uint32_t count[kRunCities];
    for (CityId b = r.begin(), e; b != r.end(); b = e) {
      e = std::min<CityId>(r.end(), b + kRunCities);
      for (std::size_t l = 0; l < layer_count; ++l) {
        const std::int64_t* off = layers[l].offsets;
        const std::int64_t* fit = std::upper_bound(off + b + 1, off + e + 1, off[b] + kRunTies);
        e = static_cast<CityId>(fit - off - 1);
      }
      // A city with more ties than a run holds makes a run of its own, counted city by city.
      const bool oversized = e == b;
      if (oversized) e = b + 1;
      const std::int64_t cities = e - b;
      std::int64_t held = 0;
      for (CityId c = b; c < e; ++c) held += cur[c];
      const bool flat = !oversized && 2 * held < cities;

      if (flat) {
        for (std::size_t l = 0; l < layer_count; ++l) {
          const std::int64_t* __restrict off = layers[l].offsets;
          const CityId* __restrict targets = layers[l].targets;
          const std::int64_t kb = off[b], ke = off[e];
          const CityId* __restrict tie = targets + kb;
          const std::int64_t ties = ke - kb;
          std::uint32_t sum = 0;
          running[0] = 0;
#pragma GCC unroll 4
          for (std::int64_t k = 0; k < ties; ++k) {
            sum += cur[tie[k]];
            running[k + 1] = sum;
          }
          for (CityId c = b; c < e; ++c) {
            const std::uint32_t n = running[off[c + 1] - kb] - running[off[c] - kb];
            count[c - b] = l == 0 ? n : count[c - b] + n;
          }
        }
      } else {
        for (CityId c = b; c < e; ++c) {
          std::uint32_t n = 0;
          if (!cur[c]) {
            for (std::size_t l = 0; l < layer_count; ++l) {
              const CityId* __restrict targets = layers[l].targets;
              const std::int64_t ke = layers[l].offsets[c + 1];
              for (std::int64_t k = layers[l].offsets[c]; k < ke; ++k) n += cur[targets[k]];
            }
          }
          count[c - b] = n;
        }
      }

      for (CityId c = b; c < e; ++c) {
        const std::uint8_t have = cur[c];
        std::int64_t degree = 0;
        for (std::size_t l = 0; l < layer_count; ++l)
          degree += layers[l].offsets[c + 1] - layers[l].offsets[c];
        const std::int64_t need = by_degree ? by_degree[degree] : by_city[c];
        const std::uint8_t fresh = static_cast<std::uint8_t>(
            (static_cast<std::int64_t>(count[c - b]) >= need) & ~have & 1);
        next[c] = static_cast<std::uint8_t>(have | fresh);
        if (fresh) {
          Event ev{new_step, c, 0, EventKind::kAdopt, -1, -1};
          credit_last_adopter(ev);
          if (events == nullptr) events = &found.local();
          events->push_back(ev);
        }
      }
    }
  });
  for (auto& list : found) events_.insert(events_.end(), list.begin(), list.end());
}

template <class Word, bool kOneLayer>
void Engine::decide_bitsliced() {
  static_assert(std::is_unsigned_v<Word>);
  const Step new_step = step_ + 1;
  const Word all = s_ == static_cast<SolutionId>(8 * sizeof(Word))
                       ? static_cast<Word>(~Word{0})
                       : static_cast<Word>((std::uint64_t{1} << s_) - 1);
  const unsigned char* cur = reinterpret_cast<const unsigned char*>(cur_.data());
  unsigned char* next = reinterpret_cast<unsigned char*>(next_.data());
  const unsigned char* need_planes = reinterpret_cast<const unsigned char*>(need_planes_.data());
  const std::size_t plane_stride = static_cast<std::size_t>(planes_) * sizeof(Word);
  tbb::enumerable_thread_specific<std::vector<Event>> found;
  // With one layer its arrays are held in locals rather than read through the list per city.
  const Csr first = csr_.front();
  const Csr* layers = kOneLayer ? &first : csr_.data();
  const std::size_t layer_count = kOneLayer ? 1 : csr_.size();

  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, 1024), [&](const auto& r) {
    std::vector<Event>* events = nullptr;
    for (CityId c = r.begin(); c != r.end(); ++c) {
      const Word have = load_word<Word>(cur + static_cast<std::size_t>(c) * sizeof(Word));
      Word reached = 0;
      if (have != all) {
        std::int64_t degree = 0;
        for (std::size_t l = 0; l < layer_count; ++l)
          degree += layers[l].offsets[c + 1] - layers[l].offsets[c];
        const bool by_degree = !need_by_degree_.empty();
        // Counts reach at most the degree; the count needed at most degree + 1.
        const int count_planes = std::bit_width(static_cast<std::uint64_t>(degree));
        const int compare_planes = std::bit_width(static_cast<std::uint64_t>(degree + 1));
        Word plane[kMaxPlanes];
        for (int p = 0; p < compare_planes; ++p) plane[p] = 0;
        for (std::size_t l = 0; l < layer_count; ++l)
          add_rows_any<Word>(count_planes, plane, cur, layers[l].targets, layers[l].offsets[c],
                             layers[l].offsets[c + 1]);
        // count >= needed, bit-sliced, from the top plane down. With one count for all
        // solutions its planes are all-ones or all-zeros words.
        const std::int64_t shared =
            by_degree ? need_by_degree_[static_cast<std::size_t>(degree)] : 0;
        const unsigned char* need = need_planes + static_cast<std::size_t>(c) * plane_stride;
        Word greater = 0;
        Word equal = static_cast<Word>(~Word{0});
        for (int p = compare_planes - 1; p >= 0; --p) {
          const Word n = by_degree
                             ? static_cast<Word>(((shared >> p) & 1) ? ~Word{0} : Word{0})
                             : load_word<Word>(need + static_cast<std::size_t>(p) * sizeof(Word));
          greater = static_cast<Word>(greater | (equal & plane[p] & ~n));
          equal = static_cast<Word>(equal & ~(plane[p] ^ n));
        }
        reached = static_cast<Word>(greater | equal);
      }
      Word fresh = static_cast<Word>(reached & all & ~have);
      store_word<Word>(next + static_cast<std::size_t>(c) * sizeof(Word),
                       static_cast<Word>(have | fresh));
      while (fresh != 0) {
        const auto s = static_cast<SolutionId>(std::countr_zero(fresh));
        fresh = static_cast<Word>(fresh & (fresh - 1));
        Event ev{new_step, c, s, EventKind::kAdopt, -1, -1};
        credit_last_adopter(ev);
        if (events == nullptr) events = &found.local();
        events->push_back(ev);
      }
    }
  });
  for (auto& list : found) events_.insert(events_.end(), list.begin(), list.end());
}

std::int64_t Engine::state_bytes() const {
  const std::size_t bytes =
      (cur_.capacity() + next_.capacity() + need_planes_.capacity()) * sizeof(std::uint64_t) +
      adopted_step_.capacity() * sizeof(Step) + threshold_.capacity() * sizeof(float) +
      (need_.capacity() + need_by_degree_.capacity()) * sizeof(std::int32_t);
  return static_cast<std::int64_t>(bytes);
}

}  // namespace citynet::model
