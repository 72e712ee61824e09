#include "rng/stream.hpp"

#include <limits>
#include <numbers>

namespace citynet::rng {

std::uint64_t run_key(std::uint64_t seed, std::uint64_t run_index) {
  auto mix = [](std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix(mix(seed) ^ (run_index * 0xD6E8FEB86659FD93ull));
}

std::uint64_t Stream::below(std::uint64_t n) {
  if (n <= (1ull << 32)) {
    // 32-bit Lemire: multiply-shift with rejection of the biased low range.
    const auto n32 = static_cast<std::uint32_t>(n == (1ull << 32) ? 0 : n);
    if (n32 == 0) return next_u32();
    std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n32;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n32) {
      const std::uint32_t t = static_cast<std::uint32_t>(-n32) % n32;
      while (low < t) {
        m = static_cast<std::uint64_t>(next_u32()) * n32;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return m >> 32;
  }
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

double Stream::normal(double mean, double sd) {
  // Box-Muller with both values used; std::normal_distribution differs between libraries.
  if (has_spare_) {
    has_spare_ = false;
    return mean + sd * spare_;
  }
  const double u1 = uniform_pos();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return mean + sd * r * std::cos(a);
}

std::uint64_t Stream::geometric(double p) {
  if (p >= 1.0) return 0;
  const double g = std::floor(std::log(uniform_pos()) / std::log1p(-p));
  return g >= 1.8e19 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(g);
}

}  // namespace citynet::rng
