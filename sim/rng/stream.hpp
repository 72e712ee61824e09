#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/ids.hpp"

namespace citynet::rng {

// What a draw is for. Part of every stream's counter, so two purposes never share numbers.
// Append only: renumbering changes every run's output.
enum class Purpose : std::uint32_t {
  kNetwork = 1,
  kThreshold = 2,
  kSeeds = 3,
  kDecide = 4,
  kSource = 5,
  kCascade = 6,
  kSynthetic = 7,
  kTies = 8,
  kOutcome = 9,
  kObserve = 10,
  kAdapt = 11,
  kDrop = 12,
  kClubs = 13,
  kConference = 14,
};

// The run key: 64 bits derived from the master seed and the run index only (splitmix64 mixing),
// so a run of a sweep can be reproduced alone from those two numbers.
std::uint64_t run_key(std::uint64_t seed, std::uint64_t run_index);

// A counter-based stream: Philox4x32-10 keyed by the run key, with the counter
// (step, city, purpose << 20 | lane, block). `lane` separates sub-streams of one purpose (a
// solution, a layer); each block gives four 32-bit words. No state is shared between streams, so
// any thread may draw any city's numbers in any order and get the same values.
class Stream {
 public:
  using Philox = r123::Philox4x32;

  // The stream from block `block` on (0: the whole stream).
  Stream(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose, std::uint32_t lane = 0,
         std::uint32_t block = 0)
      : key_{philox_key(key)}, ctr_{counter(step, city, purpose, lane, block)} {}

  static Philox::key_type philox_key(std::uint64_t key) {
    return {{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}};
  }
  static Philox::ctr_type counter(Step step, std::uint32_t city, Purpose purpose,
                                  std::uint32_t lane, std::uint32_t block) {
    return {{static_cast<std::uint32_t>(step), city,
             (static_cast<std::uint32_t>(purpose) << 20) | (lane & 0xFFFFFu), block}};
  }
  // The uniform() of two consecutive words.
  static double uniform_of(std::uint32_t hi, std::uint32_t lo) {
    const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 32) | lo;
    return static_cast<double>(bits >> 11) * 0x1.0p-53;
  }

  std::uint32_t next_u32() {
    if (used_ == 4) refill();
    return block_.v[used_++];
  }
  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform on [0, 1) with 53 random bits.
  double uniform() {
    const std::uint32_t hi = next_u32();
    return uniform_of(hi, next_u32());
  }
  // Uniform on (0, 1]: safe under log().
  double uniform_pos() { return 1.0 - uniform(); }
  bool bernoulli(double p) { return uniform() < p; }
  // Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n);
  double exponential(double rate) { return -std::log(uniform_pos()) / rate; }
  double normal(double mean = 0.0, double sd = 1.0);
  double lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }
  // Number of failures before the first success of a Bernoulli(p), p in (0, 1].
  std::uint64_t geometric(double p);

 private:
  void refill() {
    block_ = Philox()(ctr_, key_);
    ++ctr_.v[3];
    used_ = 0;
  }

  Philox::key_type key_;
  Philox::ctr_type ctr_;
  Philox::ctr_type block_{};
  int used_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The uniforms of a Stream, for the many streams that draw one or two: the first block is
// computed in place when the stream is made, and a Stream is built only for a third uniform on.
// Same numbers as Stream.
class ShortStream {
 public:
  ShortStream(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
              std::uint32_t lane = 0)
      : ShortStream(key, step, city, purpose, lane,
                    Stream::Philox()(Stream::counter(step, city, purpose, lane, 0),
                                     Stream::philox_key(key))) {}
  // With the first block already computed, as first_blocks() gives it.
  ShortStream(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose, std::uint32_t lane,
              const Stream::Philox::ctr_type& first)
      : key_(key), step_(step), city_(city), purpose_(purpose), lane_(lane), first_(first) {}

  double uniform() {
    if (taken_ < 4) {
      const double u = Stream::uniform_of(first_.v[taken_], first_.v[taken_ + 1]);
      taken_ += 2;
      return u;
    }
    if (!rest_) rest_.emplace(key_, step_, city_, purpose_, lane_, 1);
    return rest_->uniform();
  }

 private:
  std::uint64_t key_;
  Step step_;
  std::uint32_t city_;
  Purpose purpose_;
  std::uint32_t lane_;
  Stream::Philox::ctr_type first_;
  int taken_ = 0;
  std::optional<Stream> rest_;
};

// The instruction sets first_blocks() can use; the best one the machine has is picked once.
enum class BlockIsa { kScalar, kAvx2 };
bool block_isa_supported(BlockIsa isa);

// The first blocks of the streams (key, step, city, purpose, lane) for lanes 0 .. lanes - 1:
// out[l] is the block Stream(key, step, city, purpose, l) draws its first four words from. Loops
// that open a stream per solution of a city compute them all at once, several streams to a
// vector register: the same numbers, at a fraction of the cost.
void first_blocks(std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
                  std::uint32_t lanes, Stream::Philox::ctr_type* out);
// The same with a given instruction set (the scalar code where the machine lacks it), for tests
// and benchmarks.
void first_blocks(BlockIsa isa, std::uint64_t key, Step step, std::uint32_t city, Purpose purpose,
                  std::uint32_t lanes, Stream::Philox::ctr_type* out);

// One uniform on [0, 1) for an unordered pair of cities: both ends of a tie compute the same
// number without talking to each other, so a tie's state stays symmetric while each city updates
// only its own row.
inline double pair_uniform(std::uint64_t key, Step step, Purpose purpose, std::uint32_t lane,
                           std::uint32_t a, std::uint32_t b) {
  if (a > b) std::swap(a, b);
  const r123::Philox4x32::key_type k{
      {static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}};
  const r123::Philox4x32::ctr_type c{
      {static_cast<std::uint32_t>(step), a,
       (static_cast<std::uint32_t>(purpose) << 20) | (lane & 0xFFFFFu), b}};
  const auto r = r123::Philox4x32()(c, k);
  const std::uint64_t bits = (static_cast<std::uint64_t>(r.v[0]) << 32) | r.v[1];
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace citynet::rng
