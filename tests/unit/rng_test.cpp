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

TEST_CASE("first_blocks gives each lane's first block, on every instruction set", "[unit]") {
  using citynet::rng::BlockIsa;
  using Ctr = Stream::Philox::ctr_type;
  auto expected = [](std::uint64_t key, int step, std::uint32_t city, Purpose purpose,
                     std::uint32_t lane) {
    Stream s(key, step, city, purpose, lane);
    Ctr b;
    for (auto& w : b.v) w = s.next_u32();
    return b;
  };
  for (BlockIsa isa : {BlockIsa::kScalar, BlockIsa::kAvx2}) {
    if (!citynet::rng::block_isa_supported(isa)) {
      WARN("instruction set " << static_cast<int>(isa) << " not on this machine: not tested");
      continue;
    }
    // Counts below, at and past each vector width and pass, and keys with high bits set.
    for (std::uint32_t lanes : {0u, 1u, 3u, 4u, 5u, 8u, 15u, 16u, 17u, 33u, 64u, 100u}) {
      for (std::uint64_t key : {0ull, 42ull, 0xFEDC'BA98'7654'3210ull}) {
        const int step = static_cast<int>(lanes) * 7 + 1;
        const std::uint32_t city = 0xFFFF'FFF0u + lanes % 16;
        std::vector<Ctr> out(lanes + 1, Ctr{{1, 2, 3, 4}});
        citynet::rng::first_blocks(isa, key, step, city, Purpose::kDecide, lanes, out.data());
        for (std::uint32_t l = 0; l < lanes; ++l) {
          INFO("isa " << static_cast<int>(isa) << " lanes " << lanes << " key " << key << " lane "
                      << l);
          REQUIRE(out[l] == expected(key, step, city, Purpose::kDecide, l));
        }
        REQUIRE(out[lanes] == Ctr{{1, 2, 3, 4}});  // nothing written past the end
      }
    }
    // Lanes wrap at 2^20 as Stream's counter does.
    const std::uint32_t many = (1u << 20) + 3;
    std::vector<Ctr> out(many);
    citynet::rng::first_blocks(isa, 7, 2, 3, Purpose::kObserve, many, out.data());
    for (std::uint32_t l : {0u, 1u, (1u << 20) - 1, 1u << 20, (1u << 20) + 2})
      REQUIRE(out[l] == expected(7, 2, 3, Purpose::kObserve, l));
    for (std::uint32_t l : {1u << 20, (1u << 20) + 2}) REQUIRE(out[l] == out[l & 0xFFFFFu]);
  }
  // The ShortStream built on a computed block draws what one that computes its own does.
  std::vector<Ctr> out(5);
  citynet::rng::first_blocks(99, 4, 8, Purpose::kDecide, 5, out.data());
  for (std::uint32_t l = 0; l < 5; ++l) {
    citynet::rng::ShortStream given(99, 4, 8, Purpose::kDecide, l, out[l]);
    citynet::rng::ShortStream own(99, 4, 8, Purpose::kDecide, l);
    for (int i = 0; i < 5; ++i) REQUIRE(given.uniform() == own.uniform());
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
