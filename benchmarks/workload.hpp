#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/cities.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

// Workloads shared by the micro-benchmarks, the graph export and the reference kernels. Every
// implementation that is compared runs on the graph these functions build, so the numbers differ
// only by the code that steps it.
namespace citynet::bench {

inline constexpr double kMeanDegree = 10.0;
inline constexpr std::uint64_t kSeed = 20240601;
// Fixed threshold of the comparison runs: below the Watts cascade window at mean degree 10, so
// the seeded minority grows a little and then holds, and every step visits (nearly) every tie.
inline constexpr double kThreshold = 0.18;
// Share of cities seeded with each solution before the first step.
inline constexpr double kSeedShare = 0.01;

enum class Rule { kBass, kFractionalThreshold, kCountThreshold, kIndependentCascade };
const char* rule_name(Rule r);

// Scenario text for `n` synthetic cities on one Erdos-Renyi layer (mean degree 10) with
// `solutions` solutions, each seeded in 1 % of the cities. The rule parameters keep the state
// nearly stationary over thousands of steps, so that timing a step does not depend on how many
// steps came before it.
std::string scenario_yaml(Rule rule, std::int64_t n, int solutions, int steps = 100);

// A built world: scenario, cities and network, kept alive together because the engine holds
// references into them.
struct World {
  scenario::Scenario scenario;
  model::CityTable cities;
  net::Network network;
  std::uint64_t run_key = 0;

  const net::Layer& layer() const { return network.layers.front(); }
  std::int64_t directed_edges() const { return layer().edge_count(); }
};

// Builds (once per process and key) the world of scenario_yaml(rule, n, solutions). The graph
// depends on n and the seed only, never on the rule or the solution count.
const World& world(Rule rule, std::int64_t n, int solutions);

// The state of the comparison run after the engine's initialise(): 1 where a city holds solution
// 0, for cities 0..n-1. Byte per city, the layout the reference kernel and the peers start from.
std::vector<std::uint8_t> initial_state(const World& w);
// The same for a world of up to 64 solutions: bit s of word c is city c holding solution s.
std::vector<std::uint64_t> initial_state64(const World& w);

// The machine's limit: the synchronous fractional-threshold step in its plainest CSR form.
// A city adopts when the share of adopted neighbours reaches its threshold and keeps an adoption
// once made; adopted cities are skipped. Returns the number of cities adopted in `next`.
struct ThresholdKernel {
  const std::int64_t* offsets;
  const std::int32_t* targets;
  std::int64_t n;
  float threshold;

  // One solution, one byte per city.
  std::int64_t step(const std::uint8_t* cur, std::uint8_t* next) const;
  // The same step with the ties of a run of cities gathered in one loop, as the engine's
  // one-solution kernel does: a city's count is the difference of a running count at the ends of
  // its row, so no loop per city ends in a mispredicted branch. It gathers the ties of adopted
  // cities too.
  std::int64_t step_runs(const std::uint8_t* cur, std::uint8_t* next) const;
  // 64 solutions, one bit each in a 64-bit word per city. The neighbour counts are bit-sliced:
  // eight 64-bit planes hold the 64 counters, so a tie costs a few word operations whatever the
  // number of solutions. Degrees of 256 or more are out of its range (and of ER graphs of mean
  // degree 10); such cities never adopt here.
  std::int64_t step64(const std::uint64_t* cur, std::uint64_t* next) const;

  // Whether `count` adopted neighbours of `degree` reach the threshold: the engine's arithmetic,
  // shared by step and step_runs so that both decide alike.
  bool reaches(std::uint32_t count, std::int64_t degree) const {
    return count > 0 && static_cast<double>(count) / static_cast<double>(degree) >= threshold;
  }
};

ThresholdKernel threshold_kernel(const World& w);

}  // namespace citynet::bench
