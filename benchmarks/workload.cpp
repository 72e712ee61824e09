#include "workload.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>
#include <bit>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "model/engine.hpp"
#include "rng/stream.hpp"
#include "scenario/loader.hpp"

namespace citynet::bench {

const char* rule_name(Rule r) {
  switch (r) {
    case Rule::kBass:
      return "bass";
    case Rule::kFractionalThreshold:
      return "fractional_threshold";
    case Rule::kCountThreshold:
      return "count_threshold";
    case Rule::kIndependentCascade:
      return "independent_cascade";
  }
  return "?";
}

std::string scenario_yaml(Rule rule, std::int64_t n, int solutions, int steps) {
  std::ostringstream y;
  const auto seeds = std::max<std::int64_t>(1, static_cast<std::int64_t>(n * kSeedShare));
  y << "name: bench_" << rule_name(rule) << "\n"
    << "seed: " << kSeed << "\n"
    << "time: {steps: " << steps << ", dt: " << (rule == Rule::kBass ? 0.01 : 1.0) << "}\n"
    << "cities: {source: synthetic, count: " << n << "}\n"
    << "layers:\n  - {name: random, kind: erdos_renyi, mean_degree: " << kMeanDegree << "}\n"
    << "solutions:\n";
  for (int s = 0; s < solutions; ++s)
    y << "  - {name: s" << s << ", random_seeds: " << seeds << "}\n";
  y << "rule:\n  kind: " << rule_name(rule) << "\n";
  switch (rule) {
    case Rule::kBass:
      // Small rates and a short dt: a few adoptions per step, so the cost per step holds.
      y << "  bass: {p: 0.01, q: 0.05}\n";
      break;
    case Rule::kFractionalThreshold:
      y << "  threshold: {distribution: fixed, mean: " << kThreshold << "}\n";
      break;
    case Rule::kCountThreshold:
      y << "  count: {k: 3}\n";
      break;
    case Rule::kIndependentCascade:
      // Mean degree x transmission = 0.5 < 1: subcritical, the seeded outbreaks stay small.
      y << "  cascade: {transmission: 0.05}\n";
      break;
  }
  y << "output: {events: true}\n";
  return y.str();
}

const World& world(Rule rule, std::int64_t n, int solutions) {
  static std::mutex mutex;
  static std::map<std::tuple<Rule, std::int64_t, int>, std::unique_ptr<World>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[{rule, n, solutions}];
  if (!slot) {
    auto w = std::make_unique<World>();
    w->scenario =
        scenario::load_scenario_text(scenario_yaml(rule, n, solutions), "<benchmark>", ".");
    w->run_key = rng::run_key(w->scenario.seed, 0);
    w->cities = model::load_cities(w->scenario, w->run_key);
    w->network = net::build_network(w->scenario, w->cities, w->run_key);
    slot = std::move(w);
  }
  return *slot;
}

std::vector<std::uint8_t> initial_state(const World& w) {
  model::Engine engine(w.scenario, w.cities, w.network, w.run_key);
  engine.initialise();
  std::vector<std::uint8_t> state(static_cast<std::size_t>(w.cities.size()));
  for (CityId c = 0; c < w.cities.size(); ++c) state[c] = engine.adopted(c, 0) ? 1 : 0;
  return state;
}

std::vector<std::uint64_t> initial_state64(const World& w) {
  model::Engine engine(w.scenario, w.cities, w.network, w.run_key);
  engine.initialise();
  std::vector<std::uint64_t> state(static_cast<std::size_t>(w.cities.size()), 0);
  const SolutionId solutions = std::min<SolutionId>(engine.solutions(), 64);
  for (CityId c = 0; c < w.cities.size(); ++c)
    for (SolutionId s = 0; s < solutions; ++s)
      if (engine.adopted(c, s)) state[c] |= 1ull << s;
  return state;
}

ThresholdKernel threshold_kernel(const World& w) {
  const auto& l = w.layer();
  return {l.offsets.data(), l.targets.data(), static_cast<std::int64_t>(w.cities.size()),
          static_cast<float>(kThreshold)};
}

namespace {

// Smallest neighbour count k > 0 with k / degree >= threshold, in the engine's arithmetic (a
// double share against a float threshold), so both adopt in exactly the same cities.
inline std::int64_t needed(std::int64_t degree, float threshold) {
  const double t = threshold;
  auto k = static_cast<std::int64_t>(t * static_cast<double>(degree));
  while (k > 0 && static_cast<double>(k - 1) / static_cast<double>(degree) >= t) --k;
  while (static_cast<double>(k) / static_cast<double>(degree) < t) ++k;
  return std::max<std::int64_t>(k, 1);
}

constexpr std::int64_t kGrain = 4096;

}  // namespace

std::int64_t ThresholdKernel::step(const std::uint8_t* cur, std::uint8_t* next) const {
  return tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n, kGrain), std::int64_t{0},
      [&](const tbb::blocked_range<std::int64_t>& r, std::int64_t adopted) {
        for (std::int64_t i = r.begin(); i != r.end(); ++i) {
          if (cur[i]) {
            next[i] = 1;
            ++adopted;
            continue;
          }
          const std::int64_t b = offsets[i], e = offsets[i + 1];
          std::uint32_t count = 0;
          for (std::int64_t k = b; k < e; ++k) count += cur[targets[k]];
          const bool adopt = reaches(count, e - b);
          next[i] = adopt;
          adopted += adopt;
        }
        return adopted;
      },
      std::plus<>());
}

std::int64_t ThresholdKernel::step_runs(const std::uint8_t* cur, std::uint8_t* next) const {
  constexpr std::int64_t kRunCities = 1024, kRunTies = 8192;
  return tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n, kRunCities), std::int64_t{0},
      [&](const tbb::blocked_range<std::int64_t>& r, std::int64_t adopted) {
        std::uint32_t running[kRunTies + 1];
        for (std::int64_t b = r.begin(), e; b != r.end(); b = e) {
          const std::int64_t* fit =
              std::upper_bound(offsets + b + 1, offsets + std::min(r.end(), b + kRunCities) + 1,
                               offsets[b] + kRunTies);
          e = std::max<std::int64_t>(fit - offsets - 1, b + 1);
          const std::int64_t kb = offsets[b], ties = offsets[e] - kb;
          if (ties > kRunTies) {  // one city with more ties than a run holds
            std::uint32_t count = 0;
            for (std::int64_t k = kb; k < offsets[e]; ++k) count += cur[targets[k]];
            next[b] = cur[b] || reaches(count, ties);
            adopted += next[b];
            continue;
          }
          const std::int32_t* tie = targets + kb;
          std::uint32_t sum = 0;
          running[0] = 0;
          for (std::int64_t k = 0; k < ties; ++k) {
            sum += cur[tie[k]];
            running[k + 1] = sum;
          }
          for (std::int64_t i = b; i < e; ++i) {
            const std::uint32_t count = running[offsets[i + 1] - kb] - running[offsets[i] - kb];
            const bool adopt = cur[i] || reaches(count, offsets[i + 1] - offsets[i]);
            next[i] = adopt;
            adopted += adopt;
          }
        }
        return adopted;
      },
      std::plus<>());
}

std::int64_t ThresholdKernel::step64(const std::uint64_t* cur, std::uint64_t* next) const {
  // Eight bit planes count up to 255 adopted neighbours per solution.
  constexpr int kPlanes = 8;
  return tbb::parallel_reduce(
      tbb::blocked_range<std::int64_t>(0, n, kGrain), std::int64_t{0},
      [&](const tbb::blocked_range<std::int64_t>& r, std::int64_t adopted) {
        for (std::int64_t i = r.begin(); i != r.end(); ++i) {
          const std::uint64_t have = cur[i];
          if (have == ~0ull) {
            next[i] = have;
            adopted += 64;
            continue;
          }
          const std::int64_t b = offsets[i], e = offsets[i + 1];
          const std::int64_t degree = e - b;
          std::uint64_t plane[kPlanes] = {};
          // Counts never exceed the degree, so bit_width(degree) planes suffice; the loop bound
          // is fixed per city and the carry chain has no data-dependent branch.
          const int planes =
              std::min<int>(kPlanes, std::bit_width(static_cast<std::uint64_t>(degree)));
          for (std::int64_t k = b; k < e; ++k) {
            // Ripple-carry add of one neighbour's 64 bits into the 64 vertical counters.
            std::uint64_t carry = cur[targets[k]];
            for (int p = 0; p < planes; ++p) {
              const std::uint64_t t = plane[p] & carry;
              plane[p] ^= carry;
              carry = t;
            }
          }
          std::uint64_t reached = 0;
          if (degree > 0 && degree < 256) {
            // Bit-sliced count >= need, from the top plane down.
            const std::int64_t need = needed(degree, threshold);
            std::uint64_t equal = ~0ull;
            for (int p = kPlanes - 1; p >= 0; --p) {
              if ((need >> p) & 1) {
                equal &= plane[p];
              } else {
                reached |= equal & plane[p];
                equal &= ~plane[p];
              }
            }
            reached |= equal;
          }
          next[i] = have | reached;
          adopted += std::popcount(next[i]);
        }
        return adopted;
      },
      std::plus<>());
}

}  // namespace citynet::bench
