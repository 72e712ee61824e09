#include <zlib.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "io/checksum.hpp"

namespace {

std::uint32_t zlib_adler(std::uint32_t adler, const unsigned char* data, std::size_t size) {
  return static_cast<std::uint32_t>(::adler32(adler, data, static_cast<uInt>(size)));
}

std::vector<unsigned char> noise(std::size_t n, std::uint32_t seed) {
  std::vector<unsigned char> v(n);
  std::uint32_t x = seed;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<unsigned char>(x >> 24);
  }
  return v;
}

}  // namespace

TEST_CASE("Adler-32 is zlib's for every length, alignment and start", "[unit]") {
  const auto data = noise(40000, 2463534242u);
  // Lengths around the vector width and the runs between two modulos (5552 bytes).
  for (std::size_t n :
       {0, 1, 31, 32, 33, 63, 64, 65, 100, 5535, 5536, 5552, 5553, 11104, 11137, 39990}) {
    for (std::size_t offset : {0, 1, 7}) {
      INFO("length " << n << ", offset " << offset);
      CHECK(citynet::io::adler32(1, data.data() + offset, n) ==
            zlib_adler(1, data.data() + offset, n));
    }
  }
  // Continued from a value other than the start, as a stream fed in pieces would.
  const std::uint32_t mid = zlib_adler(1, data.data(), 12345);
  CHECK(citynet::io::adler32(mid, data.data() + 12345, 20000) ==
        zlib_adler(mid, data.data() + 12345, 20000));
}

TEST_CASE("Adler-32 keeps to its modulus on the largest sums", "[unit]") {
  // All bytes 255 make both sums grow fastest: any overflow before a modulo would show.
  const std::vector<unsigned char> ones(100000, 255);
  for (std::size_t n : {5552, 5553, 65536, 100000})
    CHECK(citynet::io::adler32(1, ones.data(), n) == zlib_adler(1, ones.data(), n));
  // And from the largest values both halves can hold.
  const std::uint32_t top = (65520u << 16) | 65520u;
  CHECK(citynet::io::adler32(top, ones.data(), 70000) == zlib_adler(top, ones.data(), 70000));
}
