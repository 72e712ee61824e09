#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "rng/stream.hpp"

using citynet::rng::Purpose;
using citynet::rng::Stream;

TEST_CASE("Streams are pure functions of their key and counter", "[unit]") {
  Stream a(42, 3, 7, Purpose::kDecide, 1);
  Stream b(42, 3, 7, Purpose::kDecide, 1);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next_u32() == b.next_u32());
}

TEST_CASE("Different steps, cities, purposes, lanes and keys give different numbers", "[unit]") {
  const auto first = [](Stream s) { return s.next_u64(); };
  const auto base = first(Stream(42, 3, 7, Purpose::kDecide, 1));
  CHECK(first(Stream(43, 3, 7, Purpose::kDecide, 1)) != base);
  CHECK(first(Stream(42, 4, 7, Purpose::kDecide, 1)) != base);
  CHECK(first(Stream(42, 3, 8, Purpose::kDecide, 1)) != base);
  CHECK(first(Stream(42, 3, 7, Purpose::kSource, 1)) != base);
  CHECK(first(Stream(42, 3, 7, Purpose::kDecide, 2)) != base);
}

TEST_CASE("A stream started at a later block continues the whole stream", "[unit]") {
  Stream whole(0x9E3779B97F4A7C15ull, 5, 11, Purpose::kObserve, 3);
  for (int i = 0; i < 8; ++i) whole.next_u32();  // blocks 0 and 1
  Stream later(0x9E3779B97F4A7C15ull, 5, 11, Purpose::kObserve, 3, 2);
  for (int i = 0; i < 12; ++i) REQUIRE(later.next_u32() == whole.next_u32());
}

TEST_CASE("ShortStream draws the uniforms of the same Stream", "[unit]") {
  using citynet::rng::ShortStream;
  struct Args {
    std::uint64_t key;
    int step;
    std::uint32_t city;
    Purpose purpose;
    std::uint32_t lane;
  };
  // A base and each argument changed in turn: every one must reach the numbers as in a Stream.
  const std::vector<Args> all = {
      {1234567, 8, 99, Purpose::kDecide, 15}, {1234568, 8, 99, Purpose::kDecide, 15},
      {1234567, 9, 99, Purpose::kDecide, 15}, {1234567, 8, 100, Purpose::kDecide, 15},
      {1234567, 8, 99, Purpose::kSource, 15}, {1234567, 8, 99, Purpose::kDecide, 16}};
  for (const Args& a : all) {
    Stream full(a.key, a.step, a.city, a.purpose, a.lane);
    ShortStream quick(a.key, a.step, a.city, a.purpose, a.lane);
    // Two draws from the first block, the rest from a Stream that takes over at block 1.
    for (int i = 0; i < 9; ++i) REQUIRE(quick.uniform() == full.uniform());
  }
}

TEST_CASE("Run keys depend on seed and run index", "[unit]") {
  using citynet::rng::run_key;
  CHECK(run_key(1, 0) == run_key(1, 0));
  CHECK(run_key(1, 0) != run_key(2, 0));
  CHECK(run_key(1, 0) != run_key(1, 1));
  CHECK(run_key(0, 0) != 0);
}

TEST_CASE("Uniform draws have the right moments and range", "[unit]") {
  Stream s(7, 0, 0, Purpose::kDecide);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = s.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum2 += u * u;
  }
  CHECK(sum / n == Approx(0.5).margin(0.005));
  CHECK(sum2 / n - (sum / n) * (sum / n) == Approx(1.0 / 12).margin(0.002));
}

TEST_CASE("Normal, exponential and geometric draws match their means", "[unit]") {
  Stream s(11, 0, 0, Purpose::kDecide);
  const int n = 200000;
  double sn = 0, sn2 = 0, se = 0, sg = 0;
  for (int i = 0; i < n; ++i) {
    const double z = s.normal(2.0, 3.0);
    sn += z;
    sn2 += (z - 2.0) * (z - 2.0);
    se += s.exponential(4.0);
    sg += static_cast<double>(s.geometric(0.2));
  }
  CHECK(sn / n == Approx(2.0).margin(0.03));
  CHECK(std::sqrt(sn2 / n) == Approx(3.0).margin(0.03));
  CHECK(se / n == Approx(0.25).margin(0.005));
  CHECK(sg / n == Approx(4.0).margin(0.05));  // (1 - p) / p
}

TEST_CASE("below(n) is uniform over 0 .. n-1", "[unit]") {
  Stream s(5, 0, 0, Purpose::kSeeds);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto v = s.below(7);
    REQUIRE(v < 7);
    ++counts[v];
  }
  for (int c : counts) CHECK(c == Approx(10000).margin(400));
  CHECK(s.below(1) == 0);
  const std::uint64_t big = (1ull << 40) + 3;
  for (int i = 0; i < 100; ++i) REQUIRE(s.below(big) < big);
}
