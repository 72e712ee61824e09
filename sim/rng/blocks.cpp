#include "rng/stream.hpp"

#include "core/cpu.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CITYNET_X86_BLOCKS 1
#endif

namespace citynet::rng {
namespace {

using Ctr = Stream::Philox::ctr_type;

void blocks_scalar(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
                   std::uint32_t lanes, Ctr* out) {
  const auto k = Stream::philox_key(key);
  for (std::uint32_t l = 0; l < lanes; ++l)
    out[l] = Stream::Philox()(Stream::counter(step, city, purpose, l, 0), k);
}

#ifdef CITYNET_X86_BLOCKS
// Compiled for AVX2 alone, and only run where the machine has it. AVX-512 would hold twice the
// streams, yet city_100k ran 9 % slower with it than with AVX2, and no faster than scalar code.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
namespace avx2 {

using V = __m256i;
constexpr int kWidth = 4;  // streams to a register

// Random123's Philox: its multipliers, the Weyl steps of its key schedule, its rounds.
constexpr std::uint32_t kM0 = PHILOX_M4x32_0, kM1 = PHILOX_M4x32_1;
constexpr std::uint32_t kW0 = PHILOX_W32_0, kW1 = PHILOX_W32_1;
constexpr unsigned kRounds = Stream::Philox::rounds;

inline V set1(std::uint32_t x) {
  return _mm256_set1_epi64x(static_cast<long long>(x));
}

// One pass over G registers of streams, from lane `first` on; `n` of them are kept. Each 64-bit
// element holds one stream's word in its low half: the unsigned 32 x 32 -> 64 multiply reads only
// those halves, so the high halves may hold anything until the words are narrowed at the end.
// With G = 4, sixteen independent multiplies are in flight, enough to hide their latency.
template <int G>
void pass(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose, std::uint32_t first,
          std::uint32_t n, Ctr* out) {
  // Stream's counters: only the lane word differs between the streams.
  const auto counter = [&](std::uint32_t lane) {
    return Stream::counter(step, city, purpose, lane, 0);
  };
  const Ctr common = counter(first);
  V x0[G], x1[G], x2[G], x3[G];
  for (int g = 0; g < G; ++g) {
    const auto lane_word = [&](int i) {
      return static_cast<long long>(
          counter(first + static_cast<std::uint32_t>(g * kWidth + i)).v[2]);
    };
    x0[g] = set1(common.v[0]);
    x1[g] = set1(common.v[1]);
    x2[g] = _mm256_setr_epi64x(lane_word(0), lane_word(1), lane_word(2), lane_word(3));
    x3[g] = set1(common.v[3]);
  }
  const V m0 = set1(kM0), m1 = set1(kM1);
  const auto k = Stream::philox_key(key);
  std::uint32_t k0 = k.v[0], k1 = k.v[1];
  for (unsigned r = 0; r < kRounds; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const V vk0 = set1(k0), vk1 = set1(k1);
    for (int g = 0; g < G; ++g) {
      const V p0 = _mm256_mul_epu32(x0[g], m0), p1 = _mm256_mul_epu32(x2[g], m1);
      x0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), x1[g]), vk0);
      x1[g] = p1;
      x2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), x3[g]), vk1);
      x3[g] = p0;
    }
  }
  // The low halves of the elements (dwords 0, 2, 4 and 6), then one stream's four words together.
  const V low = _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0);
  alignas(32) std::uint32_t words[4][G * kWidth];
  for (int g = 0; g < G; ++g) {
    const V* x[4] = {&x0[g], &x1[g], &x2[g], &x3[g]};
    for (int w = 0; w < 4; ++w)
      _mm_store_si128(reinterpret_cast<__m128i*>(words[w] + g * kWidth),
                      _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(*x[w], low)));
  }
  for (std::uint32_t i = 0; i < n; ++i)
    out[first + i] = {{words[0][i], words[1][i], words[2][i], words[3][i]}};
}

void blocks(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose, std::uint32_t lanes,
            Ctr* out) {
  std::uint32_t done = 0;
  for (; lanes - done >= 4 * kWidth; done += 4 * kWidth)
    pass<4>(key, step, city, purpose, done, 4 * kWidth, out);
  // The rest in as few registers as hold it.
  const std::uint32_t rest = lanes - done;
  if (rest > 2 * kWidth)
    pass<4>(key, step, city, purpose, done, rest, out);
  else if (rest > kWidth)
    pass<2>(key, step, city, purpose, done, rest, out);
  else if (rest > 0)
    pass<1>(key, step, city, purpose, done, rest, out);
}

}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

using BlocksFn = void (*)(std::uint64_t, Step, std::uint32_t, Purpose, std::uint32_t, Ctr*);

BlocksFn blocks_for(BlockIsa isa) {
#ifdef CITYNET_X86_BLOCKS
  if (isa == BlockIsa::kAvx2) return avx2::blocks;
#endif
  (void)isa;
  return blocks_scalar;
}

}  // namespace

bool block_isa_supported(BlockIsa isa) {
  if (isa == BlockIsa::kScalar) return true;
#ifdef CITYNET_X86_BLOCKS
  if (isa == BlockIsa::kAvx2) return cpu_has_avx2();
#endif
  return false;
}

void first_blocks(BlockIsa isa, std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
                  std::uint32_t lanes, Stream::Philox::ctr_type* out) {
  blocks_for(block_isa_supported(isa) ? isa : BlockIsa::kScalar)(key, step, city, purpose, lanes,
                                                                 out);
}

void first_blocks(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
                  std::uint32_t lanes, Stream::Philox::ctr_type* out) {
  static const BlocksFn best =
      blocks_for(block_isa_supported(BlockIsa::kAvx2) ? BlockIsa::kAvx2 : BlockIsa::kScalar);
  best(key, step, city, purpose, lanes, out);
}

}  // namespace citynet::rng
