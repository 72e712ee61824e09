#pragma once

#include <cstdint>
#include <vector>

namespace citynet::sweep {

// Sampling designs on the unit cube; `spec.cpp` maps them onto each parameter's bounds. Each
// returns `points` rows of `dims` values in [0, 1).

// Latin hypercube: in every dimension each of the `points` strata [k/n, (k+1)/n) holds exactly
// one point, at a uniform position inside it. The permutations and positions come from `seed`
// alone (a splitmix64 sequence, the same on every platform).
std::vector<std::vector<double>> latin_hypercube(std::size_t points, std::size_t dims,
                                                 std::uint64_t seed);

// The Sobol low-discrepancy sequence (Boost.Random's generator, Joe-Kuo direction numbers), from
// its first point. Deterministic: no seed.
std::vector<std::vector<double>> sobol_sequence(std::size_t points, std::size_t dims);

// Every combination of the given value lists, the last list varying fastest.
std::vector<std::vector<std::size_t>> factorial(const std::vector<std::size_t>& sizes);

}  // namespace citynet::sweep
