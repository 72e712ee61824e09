#pragma once

#include <cstdint>
#include <vector>

#include "core/ids.hpp"
#include "model/cities.hpp"
#include "scenario/scenario.hpp"

namespace citynet::model {

struct SeedEvent {
  Step step;
  CityId city;
  SolutionId solution;
};

// The seeds of every solution as (state, city, solution), sorted. Named cities are matched by
// name (and country) or id; random seeds are drawn without replacement from the run key. Problems
// (unknown or ambiguous cities, more random seeds than cities) throw one InputError naming the
// scenario location of each.
std::vector<SeedEvent> resolve_seeds(const scenario::Scenario& scenario, const CityTable& cities,
                                     std::uint64_t run_key);

// Step index of the first state at or after model time `at`.
Step step_of_time(double at, double start, double dt);

}  // namespace citynet::model
