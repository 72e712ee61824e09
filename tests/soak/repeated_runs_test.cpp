#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "app/run.hpp"
#include "scenario/loader.hpp"
#include "support/process.hpp"

// Outside the default labels (ctest -L soak): a thousand short runs back to back in one process,
// alternating the classic and the city rule and writing a file each time, must not leak memory,
// file handles or HDF5 objects. Resident memory is sampled after a warm-up that lets the
// allocator, TBB's pools and HDF5's free lists reach their working size.

namespace {

// Resident set size in bytes, from /proc/self/statm (second field, in pages).
double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

std::size_t open_files() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

const char* const kBass = R"(name: soak_bass
time: {steps: 20}
cities: {source: synthetic, count: 300}
layers:
  - {name: random, kind: erdos_renyi, mean_degree: 6}
  - {name: world, kind: complete, influence: 0.2}
solutions:
  - {name: first, random_seeds: 3}
  - {name: second, random_seeds: 1}
rule: {kind: bass, bass: {p: 0.02, q: 0.6}}
)";

const char* const kCity = R"(name: soak_city
time: {steps: 20}
cities: {source: synthetic, count: 300}
layers:
  - {name: near, kind: ring_lattice, mean_degree: 6, dynamic: true}
  - {name: sister, kind: erdos_renyi, mean_degree: 2, trade: true}
  - {name: informal, kind: informal}
solutions:
  - {name: first, random_seeds: 3}
rule: {kind: city}
)";

}  // namespace

TEST_CASE("A thousand runs in one process do not grow memory or open files", "[soak]") {
  using citynet::app::RunOptions;
  citynet::testing::TempDir dir;
  const auto bass = citynet::scenario::load_scenario_text(kBass, "soak_bass.yaml", "/tmp");
  const auto city = citynet::scenario::load_scenario_text(kCity, "soak_city.yaml", "/tmp");
  constexpr int kRuns = 1000;
  constexpr int kWarmup = 100;
  double rss_after_warmup = 0;
  std::size_t files_after_warmup = 0;
  double rss_peak = 0;
  for (int run = 0; run < kRuns; ++run) {
    RunOptions options;
    options.output = dir / "soak.h5";
    options.run_index = static_cast<std::uint64_t>(run);
    const auto result = citynet::app::run_scenario(run % 2 ? city : bass, options);
    REQUIRE(result.steps_done == 20);
    if (run + 1 == kWarmup) {
      rss_after_warmup = resident_bytes();
      files_after_warmup = open_files();
    }
    if (run + 1 > kWarmup) rss_peak = std::max(rss_peak, resident_bytes());
  }
  const double growth_mb = (rss_peak - rss_after_warmup) / (1 << 20);
  std::printf(
      "soak: resident %.1f MB after %d runs, peak %.1f MB over the next %d (growth %.2f MB)\n",
      rss_after_warmup / (1 << 20), kWarmup, rss_peak / (1 << 20), kRuns - kWarmup, growth_mb);
  // A leak of one small buffer per run would already be a few megabytes here; the slack is
  // allocator noise.
  CHECK(growth_mb < 4.0);
  CHECK(open_files() == files_after_warmup);
}
