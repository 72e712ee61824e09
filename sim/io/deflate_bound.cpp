#include "io/deflate_bound.hpp"

#include <array>
#include <cmath>
#include <cstdint>

namespace citynet::io {

namespace {

constexpr std::size_t kMinMatch = 3;
constexpr std::size_t kMaxMatch = 258;
// zlib's symbol buffer at memory level 6 holds 1 << 12 entries and flushes a block when one
// short of full.
constexpr std::size_t kBlockSymbols = (std::size_t{1} << 12) - 1;
constexpr std::size_t kWrapperBytes = 2 + 4;

// Deflate's length code (257-285) for a match of `length` (3-258), and its extra bits.
inline unsigned length_code(std::size_t length, unsigned& extra) {
  if (length == kMaxMatch) {
    extra = 0;
    return 285;
  }
  const auto l = static_cast<unsigned>(length - kMinMatch);
  if (l < 8) {
    extra = 0;
    return 257 + l;
  }
  unsigned top = 0;  // floor(log2(l)), 3-7
  while ((l >> (top + 1)) != 0) ++top;
  extra = top - 2;
  return 257 + 4 * (extra + 1) + ((l >> extra) - 4);
}

}  // namespace

std::size_t least_run_length_deflate(const unsigned char* data, std::size_t size) {
  std::array<std::uint32_t, 286> counts{};
  double bits = 0;      // of the symbols of the current block
  double total = 0;     // bytes, of the blocks closed
  std::size_t raw = 0;  // input bytes the current block covers
  std::size_t symbols = 0;
  auto close_block = [&] {
    // Entropy in bits: N log2 N - sum f log2 f. A hair is taken off so that rounding cannot lift
    // it over the true value.
    double entropy = 0;
    if (symbols > 0) {
      double sum = 0;
      for (const std::uint32_t f : counts)
        if (f > 1) sum += f * std::log2(static_cast<double>(f));
      const auto n = static_cast<double>(symbols);
      entropy = (n * std::log2(n) - sum) * (1 - 1e-9);
    }
    total += std::min((entropy + bits) / 8, static_cast<double>(raw));
    counts.fill(0);
    bits = 0;
    raw = 0;
    symbols = 0;
  };
  std::size_t i = 0;
  while (i < size) {
    std::size_t length = 0;
    if (i > 0 && size - i >= kMinMatch) {
      const unsigned char prev = data[i - 1];
      const std::size_t most = std::min(kMaxMatch, size - i);
      while (length < most && data[i + length] == prev) ++length;
    }
    if (length >= kMinMatch) {
      unsigned extra = 0;
      ++counts[length_code(length, extra)];
      bits += extra;
      i += length;
      raw += length;
    } else {
      ++counts[data[i]];
      ++i;
      ++raw;
    }
    if (++symbols == kBlockSymbols) close_block();
  }
  close_block();
  return static_cast<std::size_t>(total) + kWrapperBytes;
}

}  // namespace citynet::io
