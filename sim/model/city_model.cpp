#include "model/city_model.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "core/embedded.hpp"
#include "core/parallel.hpp"
#include "io/binary.hpp"
#include "io/csv.hpp"
#include "io/run_file.hpp"
#include "model/engine.hpp"
#include "model/seeds.hpp"
#include "rng/stream.hpp"

namespace citynet::model {

using scenario::ExposureForm;
using scenario::kContextDims;
using scenario::LayerKind;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr CityId kGrain = 256;
// Blocks of cities whose per-solution sums are added in block order, so that floating-point
// totals do not depend on the threads.
constexpr CityId kSumBlock = 4096;

double logistic(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Sums of per-city values in a fixed order of fixed blocks, so floating-point totals do not
// depend on how TBB split the work.
template <class F>
double ordered_sum(CityId n, F value) {
  constexpr CityId kBlock = 4096;
  const CityId blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<std::size_t>(blocks), 0.0);
  auto block = [&](CityId b) {
    double s = 0.0;
    const CityId end = std::min(n, (b + 1) * kBlock);
    for (CityId c = b * kBlock; c < end; ++c) s += value(c);
    partial[static_cast<std::size_t>(b)] = s;
  };
  // A few blocks cost less than waking the workers (the world's sums run every step).
  if (blocks <= 4) {
    for (CityId b = 0; b < blocks; ++b) block(b);
  } else {
    citynet::parallel_for(CityId{0}, blocks, block);
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

void* allocate_huge(std::size_t bytes, std::size_t align) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes >= 2 * kHuge) {
    const std::size_t size = (bytes + kHuge - 1) & ~(kHuge - 1);
    void* p = std::aligned_alloc(kHuge, size);
    if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the pages are small
#endif
    return p;
  }
  return ::operator new(bytes, std::align_val_t(align));
}

void free_huge(void* p, std::size_t bytes, std::size_t align) {
  if (p == nullptr) return;
  if (bytes >= 2 * (std::size_t{2} << 20))
    std::free(p);
  else
    ::operator delete(p, std::align_val_t(align));
}

CityAttributes derive_attributes(const scenario::Scenario& s, const CityTable& cities,
                                 std::uint64_t run_key) {
  const CityId n = cities.size();
  CityAttributes a;
  a.context.resize(static_cast<std::size_t>(n));
  a.capacity.resize(static_cast<std::size_t>(n));
  a.openness.resize(static_cast<std::size_t>(n));
  a.developed.assign(static_cast<std::size_t>(n), 0);
  a.country.resize(static_cast<std::size_t>(n));
  a.continent.resize(static_cast<std::size_t>(n));

  std::map<std::string, std::int32_t> country_index;
  for (CityId c = 0; c < n; ++c) country_index.emplace(cities.country[c], 0);
  for (auto& [code, i] : country_index) {
    i = static_cast<std::int32_t>(a.countries.size());
    a.countries.push_back(code);
  }

  // Income group and continent per country: from the groups file when the scenario names one;
  // synthetic countries get one developed country in three and six continents in turn.
  std::map<std::string, std::pair<std::string, bool>> groups;
  const auto& file = s.model.country_groups_file;
  if (!file.empty()) {
    const auto text = read_data_file(s.data_dir, file);
    if (!text)
      throw InputError(s.where("cities.groups_file"), "cities.groups_file",
                       "cannot read '" + file + "'");
    const auto table = io::CsvTable::parse(text->text, text->display_name);
    Diagnostics diags;
    const auto where = s.where("cities.groups_file");
    const auto ci = table.require_column("iso2", diags, where, "cities.groups_file");
    const auto ki = table.require_column("continent", diags, where, "cities.groups_file");
    const auto gi = table.require_column("group", diags, where, "cities.groups_file");
    diags.throw_if_any();
    for (std::size_t r = 0; r < table.rows(); ++r)
      groups[table.cell(r, *ci)] = {table.cell(r, *ki), table.cell(r, *gi) == "developed"};
  }
  std::map<std::string, std::int32_t> continent_index;
  std::vector<std::int32_t> country_continent(a.countries.size());
  std::vector<std::uint8_t> country_developed(a.countries.size());
  for (std::size_t k = 0; k < a.countries.size(); ++k) {
    std::string continent;
    bool developed = false;
    if (auto it = groups.find(a.countries[k]); it != groups.end()) {
      continent = it->second.first;
      developed = it->second.second;
    } else if (file.empty()) {
      continent = "K" + std::to_string(k % 6);
      developed = k % 3 == 0;
    } else {
      continent = "unknown";
    }
    auto [it, fresh] =
        continent_index.emplace(continent, static_cast<std::int32_t>(a.continents.size()));
    if (fresh) a.continents.push_back(continent);
    country_continent[k] = it->second;
    country_developed[k] = developed ? 1 : 0;
  }

  citynet::parallel_for(tbb::blocked_range<CityId>(0, n, kGrain), [&](const auto& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      const auto k = country_index.at(cities.country[c]);
      a.country[c] = k;
      a.continent[c] = country_continent[static_cast<std::size_t>(k)];
      a.developed[c] = country_developed[static_cast<std::size_t>(k)];
      const double lp = std::log10(std::max(1.0, cities.population[c]));
      a.context[c] = {static_cast<float>(std::clamp((lp - 5.0) / 2.5, 0.0, 1.0)),
                      static_cast<float>(std::min(1.0, std::abs(cities.latitude[c]) / 60.0)),
                      static_cast<float>(a.developed[c])};
      rng::Stream rng(run_key, 0, static_cast<std::uint32_t>(c), rng::Purpose::kSynthetic, 1);
      // Larger and richer cities tend to have more professional administrations and to look
      // abroad more; the noise keeps peers of the same size different.
      a.capacity[c] = static_cast<float>(
          logistic(1.2 * (lp - 6.0) + 1.5 * a.developed[c] + 0.5 + 0.6 * rng.normal()));
      a.openness[c] = static_cast<float>(
          logistic(0.9 * (lp - 6.0) + 0.5 * a.developed[c] + 0.6 * rng.normal()));
    }
  });
  return a;
}

CityModel::CityModel(const scenario::Scenario& scenario, const CityTable& cities,
                     const net::Network& network, std::uint64_t run_key)
    : scenario_(scenario),
      spec_(scenario.model),
      cities_(cities),
      key_(run_key),
      n_(cities.size()),
      s_(static_cast<SolutionId>(scenario.solutions.size())),
      dt_(scenario.time.dt),
      start_(scenario.time.start),
      compliance_steps_(step_of_time(start_ + spec_.national.compliance_lag, start_, dt_)),
      attr_(derive_attributes(scenario, cities, run_key)) {
  const std::size_t slots = static_cast<std::size_t>(n_) * static_cast<std::size_t>(s_);
  status_.assign(slots, kUnaware);
  status_next_ = status_;
  variant_.assign(slots, -1);
  variant_next_ = variant_;
  active_from_.assign(slots, -1);
  active_from_next_ = active_from_;
  adopt_step_.assign(slots, -1);
  mandated_.assign(slots, 0);
  belief_.assign(slots, {spec_.rule.prior_mean, spec_.rule.prior_precision});
  outcome_.assign(slots, kNaN);
  words_ = (static_cast<std::size_t>(s_) + 63) / 64;
  adopted_bits_.assign(static_cast<std::size_t>(n_) * words_, 0);
  peer_.resize(static_cast<std::size_t>(n_));
  held_hi_.assign(static_cast<std::size_t>(n_) * (words_ - 1), 0);
  paying_.assign(static_cast<std::size_t>(n_), 0);
  const auto sum_slots =
      static_cast<std::size_t>((n_ + kSumBlock - 1) / kSumBlock) * static_cast<std::size_t>(s_);
  block_paying_.assign(sum_slots, 0);
  block_payoff_.assign(sum_slots, 0.0);
  dirty_.assign(static_cast<std::size_t>(n_), 0);
  adopters_.assign(static_cast<std::size_t>(s_), 0);
  aware_.assign(static_cast<std::size_t>(s_), 0);
  mean_payoff_.assign(static_cast<std::size_t>(s_), 0.0);
  gdp_.assign(static_cast<std::size_t>(n_), 1.0);
  log_pop_.resize(static_cast<std::size_t>(n_));
  isolated_.assign(static_cast<std::size_t>(n_), 0);
  for (CityId c = 0; c < n_; ++c) {
    log_pop_[c] = static_cast<float>(std::log10(std::max(1.0, cities.population[c])));
    peer_[c].context = attr_.context[c];
    peer_[c].lend.fill({kNaN, kNaN});
  }

  slots_ = spec_.ties.informal_slots;
  const auto& rule_layers = scenario.rule.layers;
  for (LayerId l = 0; l < static_cast<LayerId>(network.layers.size()); ++l) {
    const auto& layer = network.layers[l];
    const auto& ls = scenario.layers[l];
    LayerState st;
    st.layer = &layer;
    st.id = l;
    st.influence = layer.influence;
    st.exposure = layer.influence > 0.0f &&
                  (rule_layers.empty() || std::find(rule_layers.begin(), rule_layers.end(),
                                                    layer.name) != rule_layers.end());
    st.dynamic = ls.dynamic;
    st.trade_layer = ls.trade;
    st.club = ls.kind == LayerKind::kMembership;
    st.informal = ls.kind == LayerKind::kInformal;
    st.geographic = ls.kind == LayerKind::kGeographic;
    if (st.informal) {
      const std::size_t k = static_cast<std::size_t>(n_) * static_cast<std::size_t>(slots_);
      st.slot_target.assign(k, -1);
      st.weight.assign(k, 0.0f);
      st.active.assign(k, 0);
    } else if (st.club) {
      // A club is a hyperedge: members see the club's adopted share, not a clique of ties.
      st.member.assign(static_cast<std::size_t>(n_), 0);
      for (CityId c = 0; c < n_ && !layer.complete; ++c)
        if (layer.degree(c) > 0) st.member[c] = 1;
      st.member_next = st.member;
      st.club_adopters.assign(static_cast<std::size_t>(s_), 0);
      for (CityId c = 0; c < n_; ++c)
        if (st.member[c]) st.members.push_back(c);
      st.club_size = static_cast<std::int32_t>(st.members.size());
      st.active.assign(static_cast<std::size_t>(n_), 0);
    } else if (!layer.complete) {
      st.weight = layer.weights;
      st.active.assign(layer.targets.size(), 0);
      if (layer.targets.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("network layer '" + layer.name + "' has " +
                                std::to_string(layer.targets.size()) +
                                " directed ties; the city model supports at most 2^32 - 1");
      st.mirror.resize(layer.targets.size());
      // Static ties are used with the same probability every step.
      if (!st.dynamic) st.use_probability.resize(layer.targets.size());
      citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kGrain), [&](const auto& r) {
        for (CityId c = r.begin(); c != r.end(); ++c)
          for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
            const CityId j = layer.targets[k];
            const auto b = layer.targets.begin() + layer.offsets[j];
            const auto e = layer.targets.begin() + layer.offsets[j + 1];
            st.mirror[k] =
                static_cast<std::uint32_t>(std::lower_bound(b, e, c) - layer.targets.begin());
            if (!st.dynamic)
              st.use_probability[k] =
                  static_cast<float>(-std::expm1(-dt_ * spec_.ties.activity * layer.weights[k] *
                                                 (0.5 * (attr_.openness[c] + attr_.openness[j]))));
          }
      });
      if (st.trade_layer) {
        st.trade.assign(layer.targets.size(), 0.0);
        st.trade_city.assign(static_cast<std::size_t>(n_), 0.0);
      }
      st.engaged.assign(layer.targets.size(), 0);
    }
    ties_.push_back(std::move(st));
  }
  bool prefix = true;
  for (auto& L : ties_) {
    if (L.club || L.layer->complete) continue;  // they add nothing to prestige weights
    prefix = prefix && !L.dynamic && !L.informal;
    L.prefix = prefix;
  }
  for (const auto& L : ties_)
    if (!L.engaged.empty())
      for (CityId c = 0; c < n_; ++c)
        max_degree_ = std::max(max_degree_, static_cast<std::size_t>(L.layer->degree(c)));
  prestige_w0_.assign(static_cast<std::size_t>(n_), 0.0);
  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kGrain), [&](const auto& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      double sum = 0.0;
      for (const auto& L : ties_) {
        if (!L.prefix) continue;
        for (std::int64_t k = L.layer->offsets[c]; k < L.layer->offsets[c + 1]; ++k) {
          const double w = L.weight[k];
          sum += w * (log_pop_[L.layer->targets[k]] - 4.0);
        }
      }
      prestige_w0_[c] = sum;
    }
  });

  const std::size_t countries = attr_.countries.size();
  country_cities_.resize(countries);
  country_pop_.assign(countries, 0.0);
  for (CityId c = 0; c < n_; ++c) {
    country_cities_[static_cast<std::size_t>(attr_.country[c])].push_back(c);
    country_pop_[static_cast<std::size_t>(attr_.country[c])] += cities.population[c];
  }
  national_state_.assign(countries * static_cast<std::size_t>(s_), 0);
  national_since_.assign(countries * static_cast<std::size_t>(s_), -1);

  const auto seeds = resolve_seeds(scenario, cities, run_key);
  for (const auto& sd : seeds) seeds_.push_back({sd.step, sd.city, sd.solution});
  for (SolutionId s = 0; s < s_; ++s) {
    const auto& m = scenario.solutions[s].model;
    VariantRow v{s, s, -1, -1, 0, 1.0f, {}};
    for (int d = 0; d < kContextDims; ++d)
      v.design[d] = static_cast<float>(d < static_cast<int>(m.ideal.size()) ? m.ideal[d] : 0.5);
    variants_.push_back(v);
  }
  for (const auto& sd : seeds_)
    if (variants_[sd.solution].creator < 0) variants_[sd.solution].creator = sd.city;

  if (spec_.rule.exposure == ExposureForm::kFractionalThreshold) {
    threshold_.resize(slots);
    for (CityId c = 0; c < n_; ++c) {
      rng::Stream rng(key_, 0, static_cast<std::uint32_t>(c), rng::Purpose::kThreshold);
      for (SolutionId s = 0; s < s_; ++s)
        threshold_[idx(c, s)] = static_cast<float>(
            std::clamp(rng.normal(spec_.rule.exposure_threshold, 0.05), 0.0, 1.0));
    }
  }

  const char* names[] = {"ties",     "outcomes", "observe_decide", "seeds",
                         "national", "economy",  "record"};
  for (int i = 0; i < 7; ++i) phase_[i] = timers_.add(names[i]);
}

double CityModel::fit(CityId c, std::int32_t v) const {
  const auto& row = variants_[static_cast<std::size_t>(v)];
  const double tol = scenario_.solutions[row.solution].model.context_tolerance;
  double d2 = 0.0;
  for (int d = 0; d < kContextDims; ++d) {
    const double x = attr_.context[c][d] - row.design[d];
    d2 += x * x;
  }
  return std::exp(-d2 / (2.0 * tol * tol));
}

double CityModel::expected_payoff(CityId c, SolutionId s, std::int32_t v) const {
  return scenario_.solutions[s].model.payoff * fit(c, v) *
         variants_[static_cast<std::size_t>(v)].completeness;
}

const std::vector<Event>& CityModel::initialise() {
  events_.clear();
  apply_seeds(0);
  phase_record(0);
  return events_;
}

const std::vector<Event>& CityModel::step() {
  events_.clear();
  const Step next = step_ + 1;
  timers_.run(phase_[0], [&] { phase_ties(next); });
  timers_.run(phase_[1], [&] { phase_outcomes(next); });
  timers_.run(phase_[2], [&] { phase_cities(next); });
  timers_.run(phase_[3], [&] { apply_seeds(next); });
  timers_.run(phase_[4], [&] { phase_national(next); });
  timers_.run(phase_[5], [&] { phase_economy(); });
  timers_.run(phase_[6], [&] {
    step_ = next;
    phase_record(next);
  });
  return events_;
}

void CityModel::apply_seeds(Step step) {
  while (next_seed_ < seeds_.size() && seeds_[next_seed_].step <= step) {
    const auto& sd = seeds_[next_seed_++];
    const std::size_t i = idx(sd.city, sd.solution);
    if (status_next_[i] == kAdopted) continue;
    dirty_[sd.city] = 1;
    status_next_[i] = kAdopted;
    variant_next_[i] = sd.solution;
    const Step lag = step_of_time(start_ + scenario_.solutions[sd.solution].model.lag, start_, dt_);
    active_from_next_[i] = step + lag;
    // The origin knows what it built: its belief starts at its expected payoff.
    belief_[i].mean = expected_payoff(sd.city, sd.solution, sd.solution);
    events_.push_back(
        {step, sd.city, sd.solution, EventKind::kSeed, -1, -1, Mechanism::kNone, sd.solution});
  }
}

void CityModel::phase_ties(Step new_step) {
  const auto& t = spec_.ties;
  const double decay = std::exp(-t.decay * dt_);
  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kGrain), [&](const auto& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      for (auto& L : ties_) {
        if (L.club) {
          // Members take part in the network's activities; others may join, members may leave.
          rng::Stream rng(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kClubs,
                          static_cast<std::uint32_t>(L.id));
          const bool member = L.member[c] != 0;
          L.active[c] =
              member && rng.uniform() < -std::expm1(-dt_ * t.activity * attr_.openness[c]);
          const double u = rng.uniform();
          if (isolated_[c])
            L.member_next[c] = 0;
          else if (member)
            L.member_next[c] = u < -std::expm1(-dt_ * t.leave_rate) ? 0 : 1;
          else
            L.member_next[c] =
                u < -std::expm1(-dt_ * t.join_rate * attr_.openness[c] * attr_.capacity[c]) ? 1 : 0;
          continue;
        }
        if (L.informal) {
          rng::Stream rng(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kConference,
                          static_cast<std::uint32_t>(L.id));
          const std::size_t base = static_cast<std::size_t>(c) * static_cast<std::size_t>(slots_);
          std::size_t weakest = base;
          for (std::size_t k = base; k < base + static_cast<std::size_t>(slots_); ++k) {
            if (L.slot_target[k] < 0) {
              L.active[k] = 0;
              weakest = L.slot_target[weakest] < 0 ? weakest : k;
              continue;
            }
            const bool used = rng.uniform() < -std::expm1(-dt_ * t.activity * L.weight[k]);
            L.active[k] = used;
            L.weight[k] = used ? L.weight[k] + static_cast<float>(t.reinforce * (1.0 - L.weight[k]))
                               : static_cast<float>(L.weight[k] * decay);
            if (L.weight[k] < 0.05f) L.slot_target[k] = -1;  // forgotten
            if (L.slot_target[weakest] >= 0 &&
                (L.slot_target[k] < 0 || L.weight[k] < L.weight[weakest]))
              weakest = k;
          }
          // A conference: a new contact, by preference on the same continent and of a similar size.
          if (!isolated_[c] &&
              rng.uniform() < -std::expm1(-dt_ * t.conference_rate * attr_.openness[c])) {
            const bool near = rng.uniform() < t.homophily;
            CityId j = -1;
            for (int attempt = 0; attempt < 8 && j < 0; ++attempt) {
              const auto cand = static_cast<CityId>(rng.below(static_cast<std::uint64_t>(n_)));
              if (cand == c || isolated_[cand]) continue;
              if (near && attr_.continent[cand] != attr_.continent[c]) continue;
              if (rng.uniform() > std::exp(-std::abs(log_pop_[cand] - log_pop_[c]))) continue;
              j = cand;
            }
            if (j >= 0) {
              L.slot_target[weakest] = j;
              L.weight[weakest] = 0.5f;
              L.active[weakest] = 1;
            }
          }
          continue;
        }
        if (L.layer->complete) continue;
        const auto& layer = *L.layer;
        // Each pair is settled once, by its lower city, which writes both directions: the two
        // entries of a tie stay equal and no entry is written by two tasks.
        const auto first = std::upper_bound(layer.targets.begin() + layer.offsets[c],
                                            layer.targets.begin() + layer.offsets[c + 1], c);
        for (std::int64_t k = first - layer.targets.begin(); k < layer.offsets[c + 1]; ++k) {
          const CityId j = layer.targets[k];
          const double u = rng::pair_uniform(
              key_, new_step, rng::Purpose::kTies, static_cast<std::uint32_t>(L.id),
              static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(j));
          const float w = L.weight[k];
          const double p = L.dynamic ? -std::expm1(-dt_ * t.activity * w *
                                                   (0.5 * (attr_.openness[c] + attr_.openness[j])))
                                     : L.use_probability[k];
          const bool used = u < p;
          const std::size_t back = L.mirror[k];
          L.active[k] = L.active[back] = used;
          if (L.dynamic)
            L.weight[k] = L.weight[back] = used ? w + static_cast<float>(t.reinforce * (1.0 - w))
                                                : static_cast<float>(w * decay);
        }
      }
    }
  });
  for (auto& L : ties_)
    if (L.club) {
      L.member.swap(L.member_next);
      L.members.clear();
      for (CityId c = 0; c < n_; ++c)
        if (L.member[c]) L.members.push_back(c);
      L.club_size = static_cast<std::int32_t>(L.members.size());
    }
}

void CityModel::phase_outcomes(Step new_step) {
  const double noise = spec_.rule.outcome_noise;
  const double fade = spec_.rule.prestige_fade / dt_;  // in steps
  const std::size_t W = words_;
  const std::size_t S = static_cast<std::size_t>(s_);
  // Over fixed blocks of cities, so that each block's outcome totals (for record's mean payoff)
  // are summed in city order while the rows are at hand.
  const CityId blocks = (n_ + kSumBlock - 1) / kSumBlock;
  citynet::parallel_for(CityId{0}, blocks, [&](CityId b) {
    std::int32_t* paying_count = &block_paying_[static_cast<std::size_t>(b) * S];
    double* payoff = &block_payoff_[static_cast<std::size_t>(b) * S];
    std::fill(paying_count, paying_count + S, 0);
    std::fill(payoff, payoff + S, 0.0);
    for (CityId c = b * kSumBlock; c < std::min(n_, (b + 1) * kSumBlock); ++c) {
      const std::uint64_t* adopted = &adopted_bits_[static_cast<std::size_t>(c) * W];
      std::uint64_t any = 0;
      for (std::size_t w = 0; w < W; ++w) any |= adopted[w];
      // A row that adopts nothing and paid nothing last step stays all NaN.
      if (!any && !paying_[c]) continue;
      rng::Stream rng(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kOutcome);
      bool paying = false;
      for (SolutionId s = 0; s < s_; ++s) {
        const std::size_t i = idx(c, s);
        if (status_[i] != kAdopted || active_from_[i] < 0 || new_step < active_from_[i]) {
          outcome_[i] = kNaN;
          continue;
        }
        const float y =
            static_cast<float>(expected_payoff(c, s, variant_[i]) + noise * rng.normal());
        outcome_[i] = y;
        paying = true;
        if (!std::isnan(y)) {
          ++paying_count[s];
          payoff[s] += y;
        }
      }
      paying_[c] = paying;
      // Prestige the city lends its peers, once per city and solution here rather than once per
      // tie in observe; only the inline entries are kept, observe recomputes the rare others.
      for (std::uint64_t m = adopted[0]; m != 0; m &= m - 1) {
        const std::size_t s = static_cast<std::size_t>(std::countr_zero(m));
        Lend* lend = inline_lend(c, s);
        if (lend == nullptr) break;
        const std::size_t i = idx(c, static_cast<SolutionId>(s));
        *lend = {outcome_[i], lent_prestige(c, i, new_step, fade)};
      }
    }
  });
}

struct CityModel::Scratch {
  // The sums observe starts from zero for every city, in one block: one memset a city instead
  // of six calls on 128-byte arrays, which were 2 % of city_1m's time.
  std::vector<double> sums;
  std::span<double> share, prestige, comp, drop, tau, tau_y;
  std::vector<double> acc;
  std::vector<std::int32_t> count;
  // What decide reads, rounded to float as it always was.
  std::vector<float> share_f, prestige_f, comp_f, drop_f;
  // The entries of one layer whose peer holds something, and copies of those peers' lines.
  std::vector<std::int64_t> engaged;
  std::vector<PeerLine> lines;
  // The first block of each solution's decide stream.
  std::vector<rng::Stream::Philox::ctr_type> first;

  Scratch(std::size_t S, std::size_t degree)
      : sums(6 * S),
        share(sums.data(), S),
        prestige(sums.data() + S, S),
        comp(sums.data() + 2 * S, S),
        drop(sums.data() + 3 * S, S),
        tau(sums.data() + 4 * S, S),
        tau_y(sums.data() + 5 * S, S),
        acc(S),
        count(S),
        share_f(S),
        prestige_f(S),
        comp_f(S),
        drop_f(S),
        engaged(degree),
        lines(degree),
        first(S) {}
  // The spans point into `sums`: a move keeps its buffer, a copy would not.
  Scratch(Scratch&&) = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Scratch& operator=(Scratch&&) = delete;
};

struct CityModel::PendingAdoption {
  Event event;
  bool new_variant = false;
  std::int32_t parent = -1;
  float completeness = 1.0f;
  std::array<float, kContextDims> design{};
  // For an adoption, which resolve_variants settles: the share of the design the city can take,
  // and whether it re-invents it at once.
  bool reinvent = false;
  float take = 1.0f;

  // Adoptions (mandated ones too) take their variant from their source; drops and adaptations
  // of a city's own variant are settled in decide.
  bool adoption() const {
    return event.kind == EventKind::kAdopt || event.kind == EventKind::kMandate;
  }
};

void CityModel::phase_cities(Step new_step) {
  const std::size_t S = static_cast<std::size_t>(s_);
  const std::size_t degree = max_degree_;
  tbb::enumerable_thread_specific<Scratch> scratch([S, degree] { return Scratch(S, degree); });
  // The cities go in chunks of kGrain, each noting where its adoptions are in its thread's
  // list: decide emits them in (city, solution) order, so reading the chunks in order gives all
  // of them in that order without sorting them (a tenth of the cities adopt in a step at 10^6).
  struct Piece {
    const std::vector<PendingAdoption>* out = nullptr;
    std::size_t first = 0, last = 0;
  };
  const CityId chunks = (n_ + kGrain - 1) / kGrain;
  std::vector<Piece> pieces(static_cast<std::size_t>(chunks));
  tbb::enumerable_thread_specific<std::vector<PendingAdoption>> pending;
  citynet::parallel_for(tbb::blocked_range<CityId>(0, chunks), [&](const auto& r) {
    Scratch& sc = scratch.local();
    auto& out = pending.local();
    const std::size_t first_pending = out.size();
    const CityId begin = r.begin() * kGrain, end = std::min(n_, r.end() * kGrain);
    constexpr CityId kAhead = 4;
    for (CityId c = begin; c != std::min(end, begin + kAhead); ++c) prefetch(c);
    for (CityId k = r.begin(); k != r.end(); ++k) {
      const std::size_t first = out.size();
      for (CityId c = k * kGrain; c != std::min(end, (k + 1) * kGrain); ++c) {
        // The scattered reads of cities a little ahead start while this one is worked on.
        if (c + kAhead < end) prefetch(c + kAhead);
        observe(c, new_step, sc);
        learn(c, sc);
        decide(c, new_step, sc, out);
      }
      pieces[static_cast<std::size_t>(k)] = {&out, first, out.size()};
    }
    resolve_variants(std::span(out).subspan(first_pending));
  });
  std::size_t total = 0;
  for (const Piece& p : pieces) total += p.last - p.first;
  std::vector<PendingAdoption> all;
  all.reserve(total);
  for (const Piece& p : pieces)
    if (p.last > p.first)
      all.insert(all.end(), p.out->begin() + static_cast<std::ptrdiff_t>(p.first),
                 p.out->begin() + static_cast<std::ptrdiff_t>(p.last));
  merge_adoptions(all, new_step);
}

// Always inlined: GCC finds a function that only reads and prefetches pure, and drops a call to a
// pure function whose result is unused, prefetches and all.
[[gnu::always_inline]] inline void CityModel::prefetch(CityId c) const {
  for (const auto& L : ties_) {
    if (L.engaged.empty()) continue;
    const auto& layer = *L.layer;
    for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k)
      if (L.engaged[k]) __builtin_prefetch(&peer_[layer.targets[k]]);
  }
  const std::size_t S = static_cast<std::size_t>(s_);
  if (S == 0) return;
  const Belief* row = &belief_[static_cast<std::size_t>(c) * S];
  for (std::size_t s = 0; s < S; s += 64 / sizeof(Belief)) __builtin_prefetch(row + s);
  __builtin_prefetch(row + S - 1);
  // Only paying cities read their outcome and mandate rows, too sparse a walk for the hardware
  // prefetcher to follow.
  if (paying_[c]) {
    const std::size_t first = static_cast<std::size_t>(c) * S;
    __builtin_prefetch(&outcome_[first]);
    __builtin_prefetch(&outcome_[first + S - 1]);
    __builtin_prefetch(&mandated_[first]);
  }
}

// What the record phase reads and writes of a dirty city; always inlined, as prefetch() is.
[[gnu::always_inline]] inline void CityModel::prefetch_record(CityId c) const {
  const std::size_t S = static_cast<std::size_t>(s_);
  if (S == 0) return;
  __builtin_prefetch(&peer_[c], 1);
  __builtin_prefetch(&adopted_bits_[static_cast<std::size_t>(c) * words_], 1);
  const std::size_t first = static_cast<std::size_t>(c) * S, last = first + S - 1;
  __builtin_prefetch(&status_next_[first]);
  __builtin_prefetch(&status_[first], 1);
  __builtin_prefetch(&variant_next_[first]);
  __builtin_prefetch(&variant_next_[last]);
  __builtin_prefetch(&variant_[first], 1);
  __builtin_prefetch(&variant_[last], 1);
  __builtin_prefetch(&active_from_next_[first]);
  __builtin_prefetch(&active_from_next_[last]);
  __builtin_prefetch(&active_from_[first], 1);
  __builtin_prefetch(&active_from_[last], 1);
}

void CityModel::observe(CityId c, Step new_step, Scratch& sc) {
  const auto& R = spec_.rule;
  const std::size_t S = static_cast<std::size_t>(s_);
  const std::size_t W = words_;
  const double h2 = 2.0 * R.context_bandwidth * R.context_bandwidth;
  const double fade = R.prestige_fade / dt_;  // as in phase_outcomes
  rng::Stream rng(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kObserve);
  const std::size_t row = static_cast<std::size_t>(c) * S;
  std::fill(sc.sums.begin(), sc.sums.end(), 0.0);
  std::fill(sc.count.begin(), sc.count.end(), 0);
  std::int32_t seen = 0;  // active ties; the same for every solution
  double influence_sum = 0.0, prestige_w = prestige_w0_[c], comp_w = 0.0;
  bool aware = false;
  // One tie seen, to a peer that holds or held some solution: awareness, a noisy signal of each
  // paying solution (weaker through weak ties, discounted by context distance), exposure,
  // prestige, competition, peers' drops. Only the solutions the peer holds or dropped contribute,
  // in solution order so that signals draw the same numbers. Peers that never held any (most of
  // them) add only to the tie counts and weights, without their memory being touched.
  auto visit = [&](CityId j, const PeerLine& peer, double w, bool active, bool exposure_layer,
                   bool geographic) {
    const std::size_t peer_row = static_cast<std::size_t>(j) * S;
    double sim = -1.0;  // computed when a signal needs it
    std::size_t k = 0;  // rank among the adopted solutions
    for (std::size_t word = 0; word < W; ++word) {
      const std::uint64_t adopted =
          word == 0 ? peer.adopted : adopted_bits_[static_cast<std::size_t>(j) * W + word];
      const std::uint64_t held =
          word == 0 ? peer.held : held_hi_[static_cast<std::size_t>(j) * (W - 1) + word - 1];
      for (std::uint64_t m = held; m != 0; m &= m - 1) {
        const int bit = std::countr_zero(m);
        const std::size_t s = word * 64 + static_cast<std::size_t>(bit);
        if (!((adopted >> bit) & 1)) {  // dropped
          if (active) sc.drop[s] += 1.0;
          continue;
        }
        const Lend lent =
            word == 0 && k < kInline
                ? peer.lend[k]
                : Lend{outcome_[peer_row + s], lent_prestige(j, peer_row + s, new_step, fade)};
        ++k;
        if (exposure_layer) {
          sc.acc[s] += w;
          ++sc.count[s];
        }
        if (geographic) sc.comp[s] += w;
        sc.prestige[s] += w * lent.prestige;
        if (!active) continue;
        if (status_next_[row + s] == kUnaware) {
          status_next_[row + s] = kAware;
          aware = true;
        }
        const float y = lent.outcome;
        if (!std::isnan(y)) {
          if (sim < 0.0) {
            double d2 = 0.0;
            for (int d = 0; d < kContextDims; ++d) {
              const double x = attr_.context[c][d] - peer.context[d];
              d2 += x * x;
            }
            sim = std::exp(-d2 / h2);
          }
          const double sd =
              scenario_.solutions[s].model.observability / std::sqrt(std::max(w, 0.05));
          const double signal = y + sd * rng.normal();
          const double tau = sim / (sd * sd);
          sc.tau[s] += tau;
          sc.tau_y[s] += tau * signal;
        }
      }
    }
  };
  for (const auto& L : ties_) {
    if (L.club) {
      if (!L.member[c] || L.club_size < 2) continue;
      // The club as a whole: its adopted share; awareness when the city takes part.
      const double others = L.club_size - 1;
      for (std::size_t s = 0; s < S; ++s) {
        const double a = (L.club_adopters[s] - (status_[row + s] == kAdopted ? 1 : 0)) / others;
        if (L.exposure) {
          sc.share[s] += L.influence * a;
          sc.count[s] += static_cast<std::int32_t>(std::lround(a * others));
        }
        if (L.active[c] && a > 0 && status_next_[row + s] == kUnaware) {
          status_next_[row + s] = kAware;
          aware = true;
        }
      }
      if (L.exposure) influence_sum += L.influence;
      continue;
    }
    if (L.layer->complete) {
      if (!L.exposure || n_ < 2) continue;
      for (std::size_t s = 0; s < S; ++s) {
        const double a = (adopters_[s] - (status_[row + s] == kAdopted ? 1 : 0)) / double(n_ - 1);
        sc.share[s] += L.influence * a;
        sc.count[s] += adopters_[s] - (status_[row + s] == kAdopted ? 1 : 0);
      }
      influence_sum += L.influence;
      continue;
    }
    std::fill(sc.acc.begin(), sc.acc.end(), 0.0);
    double wsum = 0.0;
    if (L.informal) {
      const std::size_t base = static_cast<std::size_t>(c) * static_cast<std::size_t>(slots_);
      for (std::size_t k = base; k < base + static_cast<std::size_t>(slots_); ++k) {
        const CityId j = L.slot_target[k];
        if (j < 0) continue;
        const double w = L.weight[k];
        wsum += L.weight[k];
        prestige_w += w * (log_pop_[j] - 4.0);
        seen += L.active[k] != 0;
        if (holds_any(j)) visit(j, peer_[j], w, L.active[k] != 0, L.exposure, false);
      }
    } else {
      const auto& layer = *L.layer;
      std::size_t engaged = 0;
      for (std::int64_t k = layer.offsets[c]; k < layer.offsets[c + 1]; ++k) {
        const double w = L.weight[k];
        wsum += L.weight[k];
        if (!L.prefix) prestige_w += w * (log_pop_[layer.targets[k]] - 4.0);
        if (L.geographic) comp_w += w;
        seen += L.active[k] != 0;
        sc.engaged[engaged] = k;
        engaged += L.engaged[k];
      }
      // The peers' lines are loaded in a loop of independent loads, so that their cache misses
      // overlap, then visited in tie order.
      for (std::size_t e = 0; e < engaged; ++e) sc.lines[e] = peer_[layer.targets[sc.engaged[e]]];
      for (std::size_t e = 0; e < engaged; ++e) {
        const std::int64_t k = sc.engaged[e];
        visit(layer.targets[k], sc.lines[e], L.weight[k], L.active[k] != 0, L.exposure,
              L.geographic);
      }
    }
    if (L.exposure && wsum > 0.0) {
      for (std::size_t s = 0; s < S; ++s) sc.share[s] += L.influence * sc.acc[s] / wsum;
      influence_sum += L.influence;
    }
  }
  // One loop per array, the test outside: each vectorises.
  auto normalise = [S](std::span<const double> sum, double total, std::vector<float>& to) {
    const double* __restrict from = sum.data();
    float* __restrict out = to.data();
    if (total > 0)
      for (std::size_t s = 0; s < S; ++s) out[s] = static_cast<float>(from[s] / total);
    else
      std::fill_n(out, S, 0.0f);
  };
  normalise(sc.share, influence_sum, sc.share_f);
  normalise(sc.prestige, prestige_w, sc.prestige_f);
  normalise(sc.comp, comp_w, sc.comp_f);
  normalise(sc.drop, static_cast<double>(seen), sc.drop_f);
  if (aware) dirty_[c] = 1;
}

void CityModel::learn(CityId c, const Scratch& sc) {
  const double own_tau = 1.0 / (spec_.rule.outcome_noise * spec_.rule.outcome_noise);
  const bool paying = paying_[c] != 0;
  for (SolutionId s = 0; s < s_; ++s) {
    const std::size_t i = idx(c, s);
    // Normal-normal update with known noise: precisions add, means average by precision.
    double tau = sc.tau[s], tau_y = sc.tau_y[s];
    if (paying && !std::isnan(outcome_[i])) {
      tau += own_tau;
      tau_y += own_tau * outcome_[i];
    }
    if (tau <= 0.0) continue;
    Belief& b = belief_[i];
    const double prec = b.prec + tau;
    b.mean = (b.prec * b.mean + tau_y) / prec;
    b.prec = prec;
  }
}

void CityModel::decide(CityId c, Step new_step, Scratch& sc, std::vector<PendingAdoption>& out) {
  const auto& R = spec_.rule;
  const auto& N = spec_.national;
  const std::size_t S = static_cast<std::size_t>(s_);
  const std::size_t row = static_cast<std::size_t>(c) * S;
  const std::size_t nat = static_cast<std::size_t>(attr_.country[c]) * S;
  // Nearly every pair draws once or twice, from the first block of its stream. All of the city's
  // first blocks at once, in vector registers, cost about half as much as one at a time.
  rng::first_blocks(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kDecide,
                    static_cast<std::uint32_t>(S), sc.first.data());
  for (std::size_t s = 0; s < S; ++s) {
    const std::size_t i = row + s;
    const auto& m = scenario_.solutions[s].model;
    rng::ShortStream rng(key_, new_step, static_cast<std::uint32_t>(c), rng::Purpose::kDecide,
                         static_cast<std::uint32_t>(s), sc.first[s]);
    const bool in_force = national_state_[nat + s] == 2;
    const bool mandate = in_force && N.form == scenario::NationalForm::kMandate;
    const bool subsidy = in_force && N.form == scenario::NationalForm::kSubsidy;
    // Only the adopted and the few draws below the bound need the cost and the belief.
    auto net_payoff = [&] {
      const double cost =
          m.cost * (subsidy ? 1.0 - N.subsidy : 1.0) / std::max(0.05f, attr_.capacity[c]);
      return std::pair{belief_[i].mean - cost, cost};
    };

    if (status_[i] == kAdopted) {
      // The outcomes phase of this step realised an outcome exactly where the adoption pays (a
      // finite one), and learn has just read that row: no need to fetch the dates.
      const bool paying = paying_[c] && !std::isnan(outcome_[i]);
      if (!paying || mandated_[i]) continue;
      const double net = net_payoff().first;
      // Drop: poor results, shocks, peers' failures (Volden 2016).
      const double hazard = R.drop_base + R.drop_poor * std::max(0.0, -net) + R.shock_rate +
                            R.drop_peer * sc.drop_f[s];
      if (rng.uniform() < -std::expm1(-dt_ * hazard)) {
        status_next_[i] = kDropped;
        active_from_next_[i] = -1;
        dirty_[c] = 1;
        out.push_back({{new_step, c, static_cast<SolutionId>(s), EventKind::kDrop, -1, -1,
                        Mechanism::kNone, variant_[i]}});
        continue;
      }
      // Later re-invention of a design that fits the city poorly. 1 - exp(-x) <= x and
      // 1 - fit <= 1: a draw at or above dt x rate is settled without the variant's design, a
      // scattered read.
      const double u = rng.uniform();
      if (u < dt_ * R.readapt_rate &&
          u < -std::expm1(-dt_ * R.readapt_rate * (1.0 - fit(c, variant_[i])))) {
        PendingAdoption p{{new_step, c, static_cast<SolutionId>(s), EventKind::kAdapt, -1, -1,
                           Mechanism::kNone, -1}};
        p.new_variant = true;
        p.parent = variant_[i];
        const auto& pv = variants_[static_cast<std::size_t>(variant_[i])];
        p.completeness = std::min(1.0f, pv.completeness + 0.25f * (1.0f - pv.completeness));
        for (int d = 0; d < kContextDims; ++d)
          p.design[d] = pv.design[d] +
                        static_cast<float>(R.adapt_rate) * (attr_.context[c][d] - pv.design[d]);
        out.push_back(p);
      }
      continue;
    }

    // Not adopted (unaware, aware or dropped before).
    bool adopt = false;
    auto mech = Mechanism::kNone;
    if (mandate && new_step >= national_since_[nat + s] + compliance_steps_) {
      adopt = true;
      mech = Mechanism::kCoercion;
    } else {
      double F = 0.0;
      const double sh = sc.share_f[s];
      switch (R.exposure) {
        case ExposureForm::kLinear:
          F = sh;
          break;
        case ExposureForm::kFractionalThreshold:
          F = sh > 0 && sh >= threshold_[i] ? 1.0 : 0.0;
          break;
        case ExposureForm::kCountThreshold:
          F = sc.count[s] >= R.exposure_count ? 1.0 : 0.0;
          break;
        case ExposureForm::kConformist: {
          const double a = std::pow(sh, R.conformity), b = std::pow(1.0 - sh, R.conformity);
          F = a + b > 0 ? a / (a + b) : 0.0;
          break;
        }
      }
      const double innov = R.innovation * attr_.capacity[c];
      // Peers' adoptions move only a city that knows of the solution.
      const double social = status_[i] == kUnaware ? 0.0 : R.imitation * F;
      const double base = innov + social;
      if (base <= 0) continue;
      const double u = rng.uniform();
      // 1 - exp(-x) <= x and g <= 2: most draws are settled without the utility.
      if (u >= 2.0 * dt_ * base) continue;
      const auto [net, cost] = net_payoff();
      const double learning = R.weight_learning * (status_[i] == kUnaware ? 0.0 : net);
      const double competition = R.weight_competition * sc.comp_f[s];
      const double prestige = R.weight_prestige * sc.prestige_f[s];
      const double incentive = R.weight_incentive * (subsidy ? 1.0 : 0.0);
      const double cost_term = status_[i] == kUnaware ? R.weight_cost * cost : 0.0;
      const double U = learning + competition + prestige + incentive - cost_term + R.utility_bias;
      const double g = 2.0 * logistic(U);
      if (u < -std::expm1(-dt_ * base * g)) {
        adopt = true;
        if (rng.uniform() * (innov + social) < innov) {
          mech = Mechanism::kInnovation;
        } else {
          mech = Mechanism::kImitation;
          double best = prestige;
          if (learning > best) {
            best = learning;
            mech = Mechanism::kLearning;
          }
          if (competition > best) {
            best = competition;
            mech = Mechanism::kCompetition;
          }
          if (incentive > best) mech = Mechanism::kCoercion;
        }
      }
    }
    if (!adopt) continue;

    // The source: a peer that has it, through the layer that carried it. Geographic
    // neighbours for competition; any adopted peer by tie weight otherwise.
    PendingAdoption p{{new_step, c, static_cast<SolutionId>(s), EventKind::kAdopt, -1, -1, mech,
                       static_cast<std::int32_t>(s)}};
    if (mech == Mechanism::kCoercion)
      p.event.kind = mandate ? EventKind::kMandate : EventKind::kAdopt;
    if (mech != Mechanism::kInnovation && !mandate) {
      double total = 0.0;
      auto consider_adopter = [&](CityId j, double w, LayerId l) {
        if (w <= 0) return;
        total += w;
        if (rng.uniform() * total < w) {
          p.event.source = j;
          p.event.layer = l;
        }
      };
      auto consider = [&](CityId j, double w, LayerId l) {
        const std::size_t js = static_cast<std::size_t>(j) * S + s;
        if (status_[js] != kAdopted) return;
        consider_adopter(j, w, l);
      };
      for (const auto& L : ties_) {
        if (mech == Mechanism::kCompetition && !L.geographic) continue;
        if (L.club) {
          if (!L.member[c]) continue;
          for (CityId j : L.members)
            if (j != c) consider(j, 1.0, L.id);
        } else if (L.informal) {
          const std::size_t base = static_cast<std::size_t>(c) * static_cast<std::size_t>(slots_);
          for (std::size_t k = base; k < base + static_cast<std::size_t>(slots_); ++k)
            if (L.slot_target[k] >= 0) consider(L.slot_target[k], L.weight[k], L.id);
        } else if (!L.layer->complete) {
          // An adopter is a peer that holds something: its entry is engaged, and observe has
          // just read its line, whose adopted bits say the same as its status row.
          const std::size_t word = s / 64;
          for (std::int64_t k = L.layer->offsets[c]; k < L.layer->offsets[c + 1]; ++k) {
            if (!L.engaged[k]) continue;
            const CityId j = L.layer->targets[k];
            const std::uint64_t bits =
                word == 0 ? peer_[j].adopted
                          : adopted_bits_[static_cast<std::size_t>(j) * words_ + word];
            if ((bits >> (s % 64)) & 1)
              consider_adopter(j, L.weight[k] * (L.active[k] ? 2.0 : 1.0), L.id);
          }
        }
      }
    }
    // What is adopted, partly when the city's capacity is short of the design's complexity and
    // possibly re-invented at once: settled in resolve_variants, which needs the source's variant.
    p.take = static_cast<float>(1.0 - m.complexity * (1.0 - attr_.capacity[c]));
    p.reinvent = rng.uniform() < R.adapt_probability;
    status_next_[i] = kAdopted;
    const Step lag = step_of_time(start_ + m.lag, start_, dt_);
    active_from_next_[i] = new_step + lag;
    dirty_[c] = 1;
    out.push_back(p);
  }
}

void CityModel::resolve_variants(std::span<PendingAdoption> adoptions) const {
  // Each adoption reads the variant its source holds (else the base design) and that variant's
  // row, two scattered reads that waited one after the other for every adoption when done in
  // decide. Here each read is started for all of a range's adoptions before the first is used.
  const std::size_t S = static_cast<std::size_t>(s_);
  auto source_slot = [&](const PendingAdoption& p) {
    return static_cast<std::size_t>(p.event.source) * S +
           static_cast<std::size_t>(p.event.solution);
  };
  for (const auto& p : adoptions)
    if (p.adoption() && p.event.source >= 0) __builtin_prefetch(&variant_[source_slot(p)]);
  for (auto& p : adoptions) {
    if (!p.adoption()) continue;
    p.event.variant = p.event.source >= 0 ? variant_[source_slot(p)] : p.event.solution;
    const VariantRow* row = &variants_[static_cast<std::size_t>(p.event.variant)];
    __builtin_prefetch(row);
    __builtin_prefetch(reinterpret_cast<const char*>(row + 1) - 1);
  }
  const float rate = static_cast<float>(spec_.rule.adapt_rate);
  for (auto& p : adoptions) {
    if (!p.adoption()) continue;
    const std::int32_t v = p.event.variant;
    const auto& pv = variants_[static_cast<std::size_t>(v)];
    const bool partial = p.take * pv.completeness < pv.completeness - 1e-6f;
    if (!partial && !p.reinvent) continue;
    p.new_variant = true;
    p.parent = v;
    p.completeness = partial ? p.take * pv.completeness : pv.completeness;
    const float r = p.reinvent ? rate : 0.0f;
    const auto& context = attr_.context[static_cast<std::size_t>(p.event.city)];
    for (int d = 0; d < kContextDims; ++d)
      p.design[d] = pv.design[d] + r * (context[d] - pv.design[d]);
  }
}

void CityModel::merge_adoptions(std::vector<PendingAdoption>& all, Step new_step) {
  // Merge in (city, solution) order; variants get their ids in that order too. phase_cities
  // hands them over in that order: the check costs little against a sort.
  auto before = [](const PendingAdoption& a, const PendingAdoption& b) {
    if (a.event.city != b.event.city) return a.event.city < b.event.city;
    return a.event.solution < b.event.solution;
  };
  if (!std::is_sorted(all.begin(), all.end(), before)) std::sort(all.begin(), all.end(), before);
  for (auto& p : all) {
    if (p.new_variant) {
      const auto id = static_cast<std::int32_t>(variants_.size());
      variants_.push_back(
          {id, p.event.solution, p.parent, p.event.city, new_step, p.completeness, p.design});
      p.event.variant = id;
    }
    const std::size_t i = idx(p.event.city, p.event.solution);
    dirty_[p.event.city] = 1;
    switch (p.event.kind) {
      case EventKind::kAdopt:
      case EventKind::kMandate:
        variant_next_[i] = p.event.variant;
        adopt_step_[i] = new_step;
        mandated_[i] = p.event.kind == EventKind::kMandate;
        break;
      case EventKind::kAdapt:
        variant_next_[i] = p.event.variant;
        break;
      case EventKind::kDrop:
        mandated_[i] = 0;
        break;
      default:
        break;
    }
    events_.push_back(p.event);
  }
}

void CityModel::phase_national(Step new_step) {
  const auto& N = spec_.national;
  if (!N.enabled) return;
  const std::size_t S = static_cast<std::size_t>(s_);
  const Step lag = step_of_time(start_ + N.legislative_lag, start_, dt_);
  // Adopted population per country and solution, added in city order as country by country. A
  // row that is not dirty equals the state, so without adopted bits it adopts nothing.
  const std::size_t W = words_;
  std::vector<double> adopted(country_cities_.size() * S, 0.0);
  for (CityId c = 0; c < n_; ++c) {
    std::uint64_t any = dirty_[c];
    for (std::size_t w = 0; w < W; ++w) any |= adopted_bits_[static_cast<std::size_t>(c) * W + w];
    if (!any) continue;
    const std::uint8_t* status = &status_next_[static_cast<std::size_t>(c) * S];
    double* sum = &adopted[static_cast<std::size_t>(attr_.country[c]) * S];
    const double pop = cities_.population[c];
    // Adding +0.0 leaves a sum of populations as it is, bit for bit (it is never -0.0): no
    // branch per solution, which mispredicted on most rows.
    for (std::size_t s = 0; s < S; ++s) sum[s] += status[s] == kAdopted ? pop : 0.0;
  }
  for (std::size_t k = 0; k < country_cities_.size(); ++k) {
    if (country_pop_[k] <= 0) continue;
    for (std::size_t s = 0; s < S; ++s) {
      const std::size_t ks = k * S + s;
      if (national_state_[ks] == 2) continue;
      const double pressure = adopted[ks] / country_pop_[k];
      // With the pressure valve, widespread local action makes national action look needless
      // (Shipan & Volden 2006).
      const bool urgent =
          pressure >= N.pressure_threshold && !(N.pressure_valve && pressure > N.valve_level);
      if (national_state_[ks] == 0 && urgent) {
        national_state_[ks] = 1;
        national_since_[ks] = new_step;
      } else if (national_state_[ks] == 1 && !urgent) {
        national_state_[ks] = 0;
      } else if (national_state_[ks] == 1 && new_step >= national_since_[ks] + lag) {
        national_state_[ks] = 2;
        national_since_[ks] = new_step;
        national_events_.push_back(
            {static_cast<std::int32_t>(k), static_cast<SolutionId>(s), new_step,
             N.form == scenario::NationalForm::kMandate ? NationalForm::kMandate
                                                        : NationalForm::kSubsidy});
      }
    }
  }
}

void CityModel::phase_economy() {
  const auto& E = spec_.economy;
  // Without trade ties every city's GDP index grows by zero.
  if (std::none_of(ties_.begin(), ties_.end(), [](const LayerState& L) {
        return L.trade_layer && !L.club && !L.informal && !L.layer->complete;
      }))
    return;
  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kGrain), [&](const auto& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      double stock = 0.0;
      for (auto& L : ties_) {
        if (!L.trade_layer || L.club || L.informal || L.layer->complete) continue;
        double layer_stock = 0.0;
        for (std::int64_t k = L.layer->offsets[c]; k < L.layer->offsets[c + 1]; ++k) {
          // Trade compounds on a partnership in use (its weight) and withers on a dormant one
          // (Brakman, Garretsen & Oumer 2016): both ends compute the same from the same weight.
          const double w = L.weight[k];
          double& t = L.trade[k];
          t += dt_ * ((E.trade_growth * w - E.trade_decay * (1.0 - w)) * t + E.trade_seed * w);
          t = std::max(0.0, t);
          stock += t;
          layer_stock += t;
        }
        L.trade_city[c] = layer_stock;
      }
      gdp_[c] += dt_ * E.gdp_benefit * stock;
    }
  });
}

void CityModel::phase_record(Step new_step) {
  (void)new_step;
  std::sort(events_.begin(), events_.end(), event_order);
  for (const Event& e : events_) {
    if (e.kind == EventKind::kSeed || e.kind == EventKind::kAdopt ||
        e.kind == EventKind::kMandate) {
      ++adopters_[e.solution];
      adopt_step_[idx(e.city, e.solution)] = e.step;
    } else if (e.kind == EventKind::kDrop) {
      --adopters_[e.solution];
    }
  }
  // Only dirty rows changed: they are copied into the state, which leaves the next buffers equal
  // to it for the seeds and phases of the next step. Per-solution totals over fixed blocks of
  // cities, summed in block order: the floating-point sum of payoffs does not depend on the
  // threads (the outcomes phase summed each block's outcomes). A status never returns to
  // unaware, so the aware count grows by the rows that leave it.
  const std::size_t S = static_cast<std::size_t>(s_);
  const CityId blocks = (n_ + kSumBlock - 1) / kSumBlock;
  std::vector<std::int32_t> aware(static_cast<std::size_t>(blocks) * S, 0);
  citynet::parallel_for(CityId{0}, blocks, [&](CityId b) {
    const std::size_t base = static_cast<std::size_t>(b) * S;
    // A tenth of the cities or fewer are dirty in a step, too sparse a walk for the hardware
    // prefetcher: their rows are fetched a few dirty cities ahead.
    std::array<CityId, kSumBlock> dirty;
    std::size_t m = 0;
    for (CityId c = b * kSumBlock; c < std::min(n_, (b + 1) * kSumBlock); ++c)
      if (dirty_[c]) dirty[m++] = c;
    constexpr std::size_t kAhead = 8;
    for (std::size_t d = 0; d < std::min(m, kAhead); ++d) prefetch_record(dirty[d]);
    for (std::size_t d = 0; d < m; ++d) {
      if (d + kAhead < m) prefetch_record(dirty[d + kAhead]);
      const CityId c = dirty[d];
      const std::size_t row = static_cast<std::size_t>(c) * S;
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t i = row + s;
        aware[base + s] += status_[i] == kUnaware && status_next_[i] != kUnaware;
        status_[i] = status_next_[i];
        variant_[i] = variant_next_[i];
        active_from_[i] = active_from_next_[i];
      }
      update_bits(c);
      dirty_[c] = 0;
    }
  });

  for (auto& L : ties_) {
    if (!L.club) continue;
    std::fill(L.club_adopters.begin(), L.club_adopters.end(), 0);
    for (CityId c : L.members)
      for (SolutionId s = 0; s < s_; ++s) L.club_adopters[s] += status_[idx(c, s)] == kAdopted;
  }
  for (std::size_t s = 0; s < S; ++s) {
    std::int32_t a = 0, p = 0;
    double total = 0.0;
    for (CityId b = 0; b < blocks; ++b) {
      const std::size_t k = static_cast<std::size_t>(b) * S + s;
      a += aware[k];
      p += block_paying_[k];
      total += block_payoff_[k];
    }
    aware_[s] += a;
    mean_payoff_[s] = p > 0 ? total / p : std::numeric_limits<double>::quiet_NaN();
  }
}

bool CityModel::holds_any(CityId c) const {
  if (peer_[c].held != 0) return true;
  const auto hi =
      held_hi_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(c) * (words_ - 1));
  return std::any_of(hi, hi + static_cast<std::ptrdiff_t>(words_ - 1),
                     [](std::uint64_t w) { return w != 0; });
}

// Adopted solutions get their Lend in the outcomes phase, before anyone reads it. A city that
// holds a solution never returns to holding none, so its ties are marked engaged once, from its
// side: each entry is written by the one city it points to.
void CityModel::update_bits(CityId c) {
  const std::size_t row = static_cast<std::size_t>(c) * static_cast<std::size_t>(s_);
  const bool held_before = holds_any(c);
  std::uint64_t* adopted = &adopted_bits_[static_cast<std::size_t>(c) * words_];
  std::fill(adopted, adopted + words_, 0);
  peer_[c].held = peer_[c].adopted = 0;
  std::fill_n(
      held_hi_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(c) * (words_ - 1)),
      words_ - 1, 0);
  for (std::size_t s = 0; s < static_cast<std::size_t>(s_); ++s) {
    const std::uint64_t bit = std::uint64_t{1} << (s % 64);
    if (status_[row + s] == kAdopted) adopted[s / 64] |= bit;
    if (status_[row + s] < kAdopted) continue;
    if (s < 64) {
      peer_[c].held |= bit;
      if (status_[row + s] == kAdopted) peer_[c].adopted |= bit;
    } else
      held_hi_[static_cast<std::size_t>(c) * (words_ - 1) + s / 64 - 1] |= bit;
  }
  if (held_before || !holds_any(c)) return;
  for (auto& L : ties_) {
    if (L.engaged.empty()) continue;
    for (std::int64_t k = L.layer->offsets[c]; k < L.layer->offsets[c + 1]; ++k)
      L.engaged[static_cast<std::size_t>(L.mirror[k])] = 1;
  }
}

// The derived per-city state, from the state itself (after a checkpoint is loaded).
void CityModel::derive_bits() {
  const std::size_t S = static_cast<std::size_t>(s_);
  for (auto& p : peer_) p.held = p.adopted = 0;
  std::fill(held_hi_.begin(), held_hi_.end(), 0);
  for (auto& L : ties_) std::fill(L.engaged.begin(), L.engaged.end(), 0);
  citynet::parallel_for(tbb::blocked_range<CityId>(0, n_, kGrain), [&](const auto& r) {
    for (CityId c = r.begin(); c != r.end(); ++c) {
      update_bits(c);
      const std::size_t row = static_cast<std::size_t>(c) * S;
      paying_[c] = std::any_of(outcome_.begin() + static_cast<std::ptrdiff_t>(row),
                               outcome_.begin() + static_cast<std::ptrdiff_t>(row + S),
                               [](float y) { return !std::isnan(y); });
      dirty_[c] = 0;
    }
  });
}

std::int64_t CityModel::active_ties(LayerId l) const {
  const auto& L = ties_[l];
  // Flags are 0 or 1: eight at a time, multiplying by 0x0101... sums a word's bytes into its top
  // byte. The world's 10^5 geographic entries are counted every step.
  const std::size_t size = L.active.size();
  const std::uint8_t* p = L.active.data();
  std::int64_t n = 0;
  std::size_t k = 0;
  for (; k + 8 <= size; k += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + k, 8);
    n += static_cast<std::int64_t>((word * 0x0101010101010101ull) >> 56);
  }
  for (; k < size; ++k) n += p[k];
  // Undirected ties are stored twice; clubs count members active, informal slots once.
  return L.club || L.informal ? n : n / 2;
}

double CityModel::total_trade() const {
  double t = 0.0;
  for (const auto& L : ties_)
    if (L.trade_layer && !L.trade_city.empty())
      t += ordered_sum(n_, [&](CityId c) { return L.trade_city[c]; });
  return t / 2.0;
}

void CityModel::derive_trade() {
  for (auto& L : ties_) {
    if (L.trade_city.empty()) continue;
    for (CityId c = 0; c < n_; ++c) {
      double s = 0.0;
      for (std::int64_t k = L.layer->offsets[c]; k < L.layer->offsets[c + 1]; ++k) s += L.trade[k];
      L.trade_city[c] = s;
    }
  }
}

void CityModel::declare_output(io::RunFileWriter& w) {
  const std::size_t S = static_cast<std::size_t>(s_);
  const std::size_t L = ties_.size();
  out_aware_ = w.add_series(
      "aware", S, "cities",
      "Cities that know of each solution (aware, adopted or dropped) [state, solution]");
  out_payoff_ = w.add_series(
      "mean_payoff", S, "payoff per time unit",
      "Mean realised outcome of the cities whose adoption pays [state, solution]; NaN when none");
  out_active_ = w.add_series("active_ties", L, "ties",
                             "Ties used in the step, per layer [state, layer] (club layers: "
                             "members taking part; informal: contacts)");
  out_trade_ = w.add_series("trade", 0, "trade units",
                            "Trade stock summed over the ties of trade layers (sister cities)");
  out_jobs_ =
      w.add_series("jobs", 0, "jobs", "Jobs proxy: economy.jobs_per_trade times the trade stock");
  out_gdp_ =
      w.add_series("gdp_index", 0, "index (1 at the start)",
                   "Mean GDP index over cities, 1 at the start, raised by sister-city trade");
  out_members_ = w.add_series(
      "club_members", L, "cities",
      "Members of each formal network (club) layer [state, layer]; 0 for other layers");
  out_national_ = w.add_series("national_adoptions", S, "countries",
                               "Countries whose national policy is in force [state, solution]");
  if (spec_.snapshot_every > 0) {
    for (const auto& l : ties_) {
      if (!l.dynamic || l.club || l.informal || l.layer->complete) {
        out_snap_.push_back(-1);
        continue;
      }
      out_snap_.push_back(w.add_snapshot("tie_weight_" + l.layer->name, l.weight.size(), "",
                                         "Weight of each tie of layer " + l.layer->name +
                                             " (CSR order of /network/" + l.layer->name +
                                             "/targets) every model.snapshot_every steps"));
    }
  }
}

void CityModel::write_state(io::RunFileWriter& w) {
  const std::size_t S = static_cast<std::size_t>(s_);
  std::vector<double> row(aware_.begin(), aware_.end());
  w.append_series(out_aware_, row);
  w.append_series(out_payoff_, mean_payoff_);
  row.assign(ties_.size(), 0.0);
  for (std::size_t l = 0; l < ties_.size(); ++l)
    row[l] = static_cast<double>(active_ties(static_cast<LayerId>(l)));
  w.append_series(out_active_, row);
  const double trade = total_trade();
  w.append_series(out_trade_, {trade});
  w.append_series(out_jobs_, {trade * spec_.economy.jobs_per_trade});
  const double gdp = ordered_sum(n_, [&](CityId c) { return gdp_[c]; });
  w.append_series(out_gdp_, {n_ > 0 ? gdp / n_ : 0.0});
  for (std::size_t l = 0; l < ties_.size(); ++l) row[l] = ties_[l].club ? ties_[l].club_size : 0;
  w.append_series(out_members_, row);
  row.assign(S, 0.0);
  for (std::size_t k = 0; k < country_cities_.size(); ++k)
    for (std::size_t s = 0; s < S; ++s) row[s] += national_state_[k * S + s] == 2;
  w.append_series(out_national_, row);
  if (spec_.snapshot_every > 0 && step_ % spec_.snapshot_every == 0 && !out_snap_.empty()) {
    bool any = false;
    for (std::size_t l = 0; l < ties_.size(); ++l)
      if (out_snap_[l] >= 0) {
        w.append_snapshot(out_snap_[l], ties_[l].weight);
        any = true;
      }
    if (any) w.mark_snapshot(step_);
  }
}

void CityModel::write_final(io::RunFileWriter& w) {
  std::vector<double> col(static_cast<std::size_t>(n_));
  auto put = [&](const std::string& name, auto value, const char* units, const char* doc) {
    for (CityId c = 0; c < n_; ++c) col[c] = value(c);
    w.write_column("/cities/" + name, col, units, doc);
  };
  put(
      "capacity", [&](CityId c) { return attr_.capacity[c]; }, "",
      "Administrative capacity in (0, 1), derived from size and income group");
  put(
      "openness", [&](CityId c) { return attr_.openness[c]; }, "",
      "Openness to international engagement in (0, 1)");
  put(
      "developed", [&](CityId c) { return attr_.developed[c]; }, "",
      "1 for cities in high-income (UN M49 developed) countries");
  put(
      "gdp_index", [&](CityId c) { return gdp_[c]; }, "index (1 at the start)",
      "GDP index at the end of the run");
  w.write_national(national_events_, attr_.countries);
}

void CityModel::save_state(std::ostream& out) const {
  io::BinaryOut b(out);
  b.put(step_);
  b.put(static_cast<std::uint64_t>(next_seed_));
  b.put(status_);
  b.put(variant_);
  b.put(active_from_);
  b.put(adopt_step_);
  b.put(mandated_);
  {
    // Checkpoints keep the means, then the precisions.
    std::vector<double> mean(belief_.size()), prec(belief_.size());
    for (std::size_t i = 0; i < belief_.size(); ++i) {
      mean[i] = belief_[i].mean;
      prec[i] = belief_[i].prec;
    }
    b.put(mean);
    b.put(prec);
  }
  b.put(outcome_);
  b.put(gdp_);
  b.put(adopters_);
  b.put(aware_);
  b.put(mean_payoff_);
  b.put(national_state_);
  b.put(national_since_);
  b.put(national_events_);
  b.put(variants_);
  for (const auto& L : ties_) {
    b.put(L.weight);
    b.put(L.active);
    b.put(L.trade);
    b.put(L.slot_target);
    b.put(L.member);
    b.put(L.club_adopters);
  }
}

void CityModel::load_state(std::istream& in, const std::string& name) {
  io::BinaryIn b(in, name);
  std::uint64_t next_seed = 0;
  const std::size_t slots = status_.size();
  b.get(step_);
  b.get(next_seed);
  b.get(status_);
  b.get(variant_);
  b.get(active_from_);
  b.get(adopt_step_);
  b.get(mandated_);
  std::vector<double> mean, prec;
  b.get(mean);
  b.get(prec);
  b.get(outcome_);
  b.get(gdp_);
  b.get(adopters_);
  b.get(aware_);
  b.get(mean_payoff_);
  b.get(national_state_);
  b.get(national_since_);
  b.get(national_events_);
  b.get(variants_);
  for (auto& L : ties_) {
    const std::size_t entries = L.weight.size();
    b.get(L.weight);
    b.get(L.active);
    b.get(L.trade);
    b.get(L.slot_target);
    b.get(L.member);
    b.get(L.club_adopters);
    if (L.weight.size() != entries) b.fail();
    if (L.club) {
      L.members.clear();
      for (CityId c = 0; c < n_; ++c)
        if (L.member[c]) L.members.push_back(c);
      L.club_size = static_cast<std::int32_t>(L.members.size());
      L.member_next = L.member;
    }
  }
  if (status_.size() != slots || variant_.size() != slots ||
      gdp_.size() != static_cast<std::size_t>(n_))
    b.fail();
  next_seed_ = static_cast<std::size_t>(next_seed);
  status_next_ = status_;
  variant_next_ = variant_;
  active_from_next_ = active_from_;
  if (outcome_.size() != slots || mean.size() != slots || prec.size() != slots) b.fail();
  for (std::size_t i = 0; i < slots; ++i) belief_[i] = {mean[i], prec[i]};
  derive_bits();
  derive_trade();
}

std::int64_t CityModel::state_bytes() const {
  auto bytes = [](const auto& v) {
    return v.capacity() * sizeof(typename std::decay_t<decltype(v)>::value_type);
  };
  std::size_t total = bytes(log_pop_) + bytes(isolated_) + bytes(status_) + bytes(status_next_) +
                      bytes(variant_) + bytes(variant_next_) + bytes(active_from_) +
                      bytes(active_from_next_) + bytes(adopt_step_) + bytes(mandated_) +
                      bytes(belief_) + bytes(outcome_) + bytes(threshold_) + bytes(peer_) +
                      bytes(held_hi_) + bytes(prestige_w0_) + bytes(adopted_bits_) +
                      bytes(paying_) + bytes(dirty_) + bytes(gdp_) + bytes(attr_.context) +
                      bytes(attr_.capacity) + bytes(attr_.openness) + bytes(attr_.developed) +
                      bytes(attr_.country) + bytes(attr_.continent);
  for (const auto& L : ties_)
    total += bytes(L.weight) + bytes(L.active) + bytes(L.mirror) + bytes(L.use_probability) +
             bytes(L.engaged) + bytes(L.trade) + bytes(L.trade_city) + bytes(L.slot_target) +
             bytes(L.member) + bytes(L.member_next) + bytes(L.members) + bytes(L.club_adopters);
  return static_cast<std::int64_t>(total);
}

std::unique_ptr<Model> make_model(const scenario::Scenario& scenario, const CityTable& cities,
                                  const net::Network& network, std::uint64_t run_key) {
  if (scenario.rule.kind == scenario::RuleKind::kCity)
    return std::make_unique<CityModel>(scenario, cities, network, run_key);
  return std::make_unique<Engine>(scenario, cities, network, run_key);
}

}  // namespace citynet::model
