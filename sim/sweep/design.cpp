#include "sweep/design.hpp"

#include <boost/random/sobol.hpp>
#include <numeric>
#include <stdexcept>

namespace citynet::sweep {
namespace {

// A counter-based splitmix64 sequence: the design must not depend on the standard library's
// engines or distributions, which differ between implementations.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n) without modulo bias (rejection of the short last block).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

 private:
  std::uint64_t state_;
};

}  // namespace

std::vector<std::vector<double>> latin_hypercube(std::size_t points, std::size_t dims,
                                                 std::uint64_t seed) {
  std::vector<std::vector<double>> out(points, std::vector<double>(dims));
  if (points == 0) return out;
  // Mixed so that the design's numbers never coincide with a run's stream for the same seed.
  SplitMix rng(seed ^ 0x4C48532D64657369ull);
  std::vector<std::size_t> perm(points);
  for (std::size_t d = 0; d < dims; ++d) {
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    for (std::size_t i = points - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    const double n = static_cast<double>(points);
    for (std::size_t i = 0; i < points; ++i) {
      double u = (static_cast<double>(perm[i]) + rng.uniform()) / n;
      // Rounding can reach the stratum's upper edge; keep the point inside its own stratum.
      const double upper = static_cast<double>(perm[i] + 1) / n;
      if (u >= upper) u = std::nextafter(upper, 0.0);
      out[i][d] = u;
    }
  }
  return out;
}

std::vector<std::vector<double>> sobol_sequence(std::size_t points, std::size_t dims) {
  std::vector<std::vector<double>> out(points, std::vector<double>(dims));
  if (points == 0 || dims == 0) return out;
  boost::random::sobol engine(dims);
  // Boost's engine starts after the origin; the sequence proper starts at it, which keeps the
  // balance of the first 2^k points.
  for (std::size_t i = 1; i < points; ++i)
    for (std::size_t d = 0; d < dims; ++d)
      out[i][d] = static_cast<double>(engine() >> 11) * 0x1.0p-53;
  return out;
}

std::vector<std::vector<std::size_t>> factorial(const std::vector<std::size_t>& sizes) {
  std::size_t total = sizes.empty() ? 0 : 1;
  for (auto s : sizes) total *= s;
  std::vector<std::vector<std::size_t>> out;
  out.reserve(total);
  std::vector<std::size_t> idx(sizes.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    out.push_back(idx);
    for (std::size_t d = sizes.size(); d-- > 0;) {
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace citynet::sweep
