#include "io/checksum.hpp"

#include <algorithm>

#include "core/cpu.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CITYNET_ADLER_AVX2 1
#endif

namespace citynet::io {

namespace {

constexpr std::uint32_t kBase = 65521;  // the largest prime below 2^16
// The most bytes whose sums cannot overflow 32 bits before the modulo (zlib's NMAX).
constexpr std::size_t kMaxRun = 5552;

std::uint32_t adler_bytes(std::uint32_t adler, const unsigned char* p, std::size_t n) {
  std::uint32_t a = adler & 0xffff;
  std::uint32_t b = adler >> 16;
  while (n > 0) {
    std::size_t k = std::min(n, kMaxRun);
    n -= k;
    for (; k >= 4; k -= 4, p += 4) {
      a += p[0];
      b += a;
      a += p[1];
      b += a;
      a += p[2];
      b += a;
      a += p[3];
      b += a;
    }
    for (; k > 0; --k) {
      a += *p++;
      b += a;
    }
    a %= kBase;
    b %= kBase;
  }
  return (b << 16) | a;
}

#ifdef CITYNET_ADLER_AVX2
// Runs of 32-byte vectors. Over a run of m vectors from (a, b), with S_j the sum of vector j's
// bytes: a grows by the sum of all bytes and b by 32 m a + 32 sum_j (S_0 + ... + S_{j-1}) +
// sum_j sum_k (32 - k) x_{32j+k}; the first sum gathers in `prefix`, the last in `weighted`.
__attribute__((target("avx2"))) std::uint32_t adler_avx2(std::uint32_t adler,
                                                         const unsigned char* p, std::size_t n) {
  std::uint32_t a = adler & 0xffff;
  std::uint32_t b = adler >> 16;
  const __m256i weights =
      _mm256_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14,
                       13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i zero = _mm256_setzero_si256();
  constexpr std::size_t kRunVectors = kMaxRun / 32;
  while (n >= 32) {
    const std::size_t m = std::min(n / 32, kRunVectors);
    n -= m * 32;
    __m256i sums = zero;      // 64-bit lanes: bytes so far
    __m256i prefix = zero;    // 64-bit lanes: the sums before each vector, added up
    __m256i weighted = zero;  // 32-bit lanes
    for (std::size_t j = 0; j < m; ++j, p += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      prefix = _mm256_add_epi64(prefix, sums);
      sums = _mm256_add_epi64(sums, _mm256_sad_epu8(x, zero));
      weighted =
          _mm256_add_epi32(weighted, _mm256_madd_epi16(_mm256_maddubs_epi16(x, weights), ones));
    }
    alignas(32) std::uint64_t s[4], q[4];
    alignas(32) std::uint32_t w[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(s), sums);
    _mm256_store_si256(reinterpret_cast<__m256i*>(q), prefix);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w), weighted);
    const std::uint64_t total = s[0] + s[1] + s[2] + s[3];
    const std::uint64_t before = q[0] + q[1] + q[2] + q[3];
    std::uint64_t wsum = 0;
    for (std::uint32_t v : w) wsum += v;
    const std::uint64_t bb = b + 32 * m * std::uint64_t{a} + 32 * before + wsum;
    a = static_cast<std::uint32_t>((a + total) % kBase);
    b = static_cast<std::uint32_t>(bb % kBase);
  }
  // The upper halves of the vector registers are cleared before any SSE code runs again on this
  // thread: GCC left them set before its tail call here, and every SSE instruction after that
  // (the city model's loops are SSE2) carried a false dependency on them; the outcomes phase of
  // 40 steps of city_1m with a file took 2.26 s against 1.26 s.
  _mm256_zeroupper();
  return adler_bytes((b << 16) | a, p, n);
}

#endif

}  // namespace

std::uint32_t adler32(std::uint32_t adler, const unsigned char* data, std::size_t size) {
#ifdef CITYNET_ADLER_AVX2
  if (size >= 64 && cpu_has_avx2()) return adler_avx2(adler, data, size);
#endif
  return adler_bytes(adler, data, size);
}

}  // namespace citynet::io
