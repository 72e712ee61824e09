#include <zlib.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/deflate_bound.hpp"

using citynet::io::least_run_length_deflate;

namespace {

// zlib's own output size for `data`, raw deflate with the run-length strategy, plus the 2 + 4
// bytes of the zlib wrapper.
std::size_t zlib_runs(const std::vector<unsigned char>& data, int level, int mem_level) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, mem_level, Z_RLE) == Z_OK);
  std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(data.size())) + 16);
  z.next_in = const_cast<unsigned char*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  const std::size_t size = z.total_out + 6;
  deflateEnd(&z);
  return size;
}

// HDF5's shuffle of n doubles: byte b of value i at b * n + i.
std::vector<unsigned char> shuffled(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<unsigned char> out(n * 8);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char bytes[8];
    std::memcpy(bytes, &values[i], 8);
    for (std::size_t b = 0; b < 8; ++b) out[b * n + i] = bytes[b];
  }
  return out;
}

struct Case {
  std::string name;
  std::vector<unsigned char> data;
};

std::vector<Case> cases() {
  std::mt19937_64 rng(20261130);
  std::vector<Case> out;
  auto random_bytes = [&](std::size_t n, unsigned symbols) {
    std::vector<unsigned char> v(n);
    for (auto& b : v) b = static_cast<unsigned char>(rng() % symbols);
    return v;
  };
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 100, 4095, 4096, 4097, 8192, 40000})
    out.push_back({"random " + std::to_string(n), random_bytes(n, 256)});
  out.push_back({"four symbols", random_bytes(8192, 4)});
  out.push_back({"constant", std::vector<unsigned char>(8192, 7)});
  out.push_back({"constant 70000", std::vector<unsigned char>(70000, 0)});
  {
    // Runs of every length around zlib's limits (2, 3, 258, 259, ...), of random bytes.
    std::vector<unsigned char> v;
    for (int k = 0; k < 400; ++k) {
      const std::size_t length = k % 7 == 0 ? 258 + k % 3 : rng() % 40 + 1;
      v.insert(v.end(), length, static_cast<unsigned char>(rng()));
    }
    out.push_back({"runs", v});
  }
  {
    // Random bytes, then runs, then random again: blocks of very different symbols.
    auto v = random_bytes(5000, 256);
    for (int k = 0; k < 3000; ++k) v.insert(v.end(), rng() % 12 + 1, static_cast<unsigned char>(k));
    const auto tail = random_bytes(5000, 16);
    v.insert(v.end(), tail.begin(), tail.end());
    out.push_back({"mixed", v});
  }
  {
    // 1024 coordinates, as a city table's first 8 kB reach the writer.
    std::uniform_real_distribution<double> degrees(-90, 90);
    std::vector<double> lat(1024);
    for (auto& x : lat) x = degrees(rng);
    out.push_back({"coordinates", shuffled(lat)});
    std::vector<double> rows(1024);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<double>(i);
    out.push_back({"row numbers", shuffled(rows)});
  }
  return out;
}

}  // namespace

TEST_CASE("The run-length bound never exceeds what zlib makes", "[unit]") {
  for (const auto& c : cases()) {
    INFO(c.name);
    const std::size_t bound = least_run_length_deflate(c.data.data(), c.data.size());
    for (int level : {1, 6, 9})
      for (int mem_level : {6, 8, 9}) {
        INFO("level " << level << ", memory level " << mem_level);
        CHECK(bound <= zlib_runs(c.data, level, mem_level));
      }
  }
}

TEST_CASE("The run-length bound is close enough to tell data runs cannot shrink", "[unit]") {
  for (const auto& c : cases()) {
    INFO(c.name);
    const std::size_t bound = least_run_length_deflate(c.data.data(), c.data.size());
    const std::size_t actual = zlib_runs(c.data, 1, 6);
    if (c.name == "random 8192" || c.name == "random 40000") CHECK(bound >= 0.95 * actual);
    // The writer stores a sample as it is when the bound is over 4/5 of it: true of coordinates,
    // which zlib leaves at over nine tenths.
    if (c.name == "coordinates") {
      CHECK(actual > 0.9 * c.data.size());
      CHECK(bound > 0.8 * c.data.size());
    }
    if (c.name == "constant") CHECK(bound < 0.01 * c.data.size());
  }
}
