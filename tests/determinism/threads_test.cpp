#include <tbb/global_control.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "app/run.hpp"
#include "scenario/loader.hpp"
#include "support/h5compare.hpp"
#include "support/process.hpp"

using namespace citynet;
using testing::run_citynet;
using testing::shell_quote;
using testing::TempDir;

namespace {

app::RunResult run_with_threads(const scenario::Scenario& sc, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads));
  app::RunOptions opt;
  opt.keep_events = true;
  return app::run_scenario(sc, opt);
}

// A run of `sc` into `path` on `threads` threads, with no metadata that changes between runs;
// `edit` sets what else the test needs.
app::RunResult run_to_file(const scenario::Scenario& sc, const std::string& path, int threads,
                           const std::function<void(app::RunOptions&)>& edit) {
  tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                          static_cast<std::size_t>(threads));
  app::RunOptions opt;
  opt.output = path;
  opt.threads = threads;
  opt.volatile_metadata = false;
  edit(opt);
  return app::run_scenario(sc, opt);
}

void require_same(const app::RunResult& a, const app::RunResult& b) {
  REQUIRE(a.adopters == b.adopters);
  REQUIRE(a.events.size() == b.events.size());
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const auto &x = a.events[i], &y = b.events[i];
    INFO("event " << i);
    REQUIRE(x.step == y.step);
    REQUIRE(x.city == y.city);
    REQUIRE(x.solution == y.solution);
    REQUIRE(x.kind == y.kind);
    REQUIRE(x.source == y.source);
    REQUIRE(x.layer == y.layer);
  }
}

}  // namespace

TEST_CASE("Every classic rule gives identical series and events with 1, 2 and 8 threads",
          "[determinism]") {
  const std::vector<std::vector<std::string>> variants = {
      {"rule.kind=bass", "rule.bass.p=0.002", "rule.bass.q=0.5"},
      {"rule.kind=fractional_threshold", "rule.threshold.distribution=uniform",
       "rule.threshold.min=0.05", "rule.threshold.max=0.3", "solutions[0].random_seeds=200"},
      {"rule.kind=count_threshold", "rule.count.k=2", "solutions[0].random_seeds=300"},
      {"rule.kind=independent_cascade", "rule.cascade.transmission=0.3",
       "solutions[0].random_seeds=5"},
  };
  for (const auto& sets : variants) {
    std::vector<std::string> all = {"cities.count=30000", "time.steps=40", "time.dt=0.25"};
    all.insert(all.end(), sets.begin(), sets.end());
    const auto sc =
        scenario::load_scenario_file(testing::source_path("tests/data/determinism.yaml"), all);
    INFO("rule " << sets.front());
    const auto one = run_with_threads(sc, 1);
    const auto two = run_with_threads(sc, 2);
    const auto eight = run_with_threads(sc, 8);
    CHECK(one.event_count > 100);
    require_same(one, two);
    require_same(one, eight);
  }
}

TEST_CASE(
    "With --reproducible the default scenario gives byte-identical files for 1 2 and 8 threads",
    "[determinism]") {
  TempDir dir;
  std::string first;
  for (int threads : {1, 2, 8}) {
    const std::string out = dir / ("world-" + std::to_string(threads) + ".h5");
    const auto r = run_citynet("run --quiet --reproducible --threads " + std::to_string(threads) +
                               " --set time.steps=60 -o " + shell_quote(out));
    REQUIRE(r.exit_code == 0);
    const std::string bytes = testing::read_file(out);
    REQUIRE(bytes.size() > 100000);
    if (first.empty())
      first = bytes;
    else
      CHECK(bytes == first);
  }
}

TEST_CASE("The default scenario writes identical datasets with 1, 2 and 8 threads",
          "[determinism]") {
  TempDir dir;
  std::map<std::string, std::string> first;
  for (int threads : {1, 2, 8}) {
    const std::string out = dir / ("world-" + std::to_string(threads) + ".h5");
    const auto r = run_citynet("run --quiet --threads " + std::to_string(threads) +
                               " --set time.steps=120 -o " + shell_quote(out));
    REQUIRE(r.exit_code == 0);
    const auto data = testing::read_all_datasets(out);
    REQUIRE(data.count("/events/source") == 1);
    if (first.empty()) {
      first = data;
      continue;
    }
    REQUIRE(data.size() == first.size());
    for (const auto& [name, bytes] : first) {
      INFO(threads << " threads, dataset " << name);
      REQUIRE(data.count(name) == 1);
      CHECK(data.at(name) == bytes);
    }
  }
}

TEST_CASE("A run whose steps start before its file's tables are written gives the same bytes",
          "[determinism]") {
  // The writer is held back before each of its stages, so that the loop starts with its rows
  // kept in memory and the file is completed at a step that depends on timing; the bytes must
  // not. The world writes extra series and, with snapshot_every, snapshots of every tie weight.
  const auto sc = scenario::load_default_scenario({"time.steps=36", "output.snapshot_every=12"});
  TempDir dir;
  // Opened by the run's own thread at a given point; the writer's stages wait for it (a minute
  // at most, so that a run that never opens it still ends).
  struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    void release() {
      std::lock_guard lock(m);
      open = true;
      cv.notify_all();
    }
    void wait() {
      std::unique_lock lock(m);
      cv.wait_for(lock, std::chrono::minutes(1), [&] { return open; });
    }
  };
  auto run = [&](const std::string& name, int threads, std::size_t limit,
                 const std::function<void(app::RunOptions&)>& hold) {
    const std::string path = dir / (name + ".h5");
    const auto r = run_to_file(sc, path, threads, [&](app::RunOptions& opt) {
      opt.defer_limit_bytes = limit;
      if (hold) hold(opt);
    });
    return std::make_pair(r.states_deferred, testing::read_file(path));
  };
  auto sleep_ms = [](int ms) {
    return [ms](app::RunOptions& o) {
      o.before_writer_stage = [ms] { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
    };
  };
  const auto [none, waited] = run("waited", 2, 0, sleep_ms(20));
  CHECK(none == 0);
  REQUIRE(waited.size() > 100000);
  {
    // One thread: the writer has a thread of its own, which the gate holds until the last step
    // is recorded. Every state is kept, and written when the loop ends.
    Gate gate;
    const auto [all, held] = run("held", 1, std::size_t{64} << 20, [&](app::RunOptions& o) {
      o.before_writer_stage = [&] { gate.wait(); };
      o.on_step = [&](Step done, Step total) {
        if (done == total) gate.release();
      };
    });
    CHECK(all == 37);
    CHECK(held == waited);
  }
  {
    // Held until the model is made, and the first stage 200 ms more, so that the run finds the
    // writer busy when its loop starts (released at the model alone, a writer that woke at once
    // was sometimes done first); with a limit of one byte the first state kept then makes the
    // loop wait for the writer.
    Gate gate;
    bool first = true;
    const auto [one, limited] = run("limited", 1, 1, [&](app::RunOptions& o) {
      o.before_writer_stage = [&] {
        gate.wait();
        if (std::exchange(first, false))
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
      };
      o.edit_model = [&](model::Model&) { gate.release(); };
    });
    CHECK(one == 1);
    CHECK(limited == waited);
  }
  // Two threads: the stages are tasks on the run's threads (which the gate could hold), so the
  // writer is only slowed; it finishes somewhere during the loop or after it.
  for (int ms : {2, 30, 200}) {
    INFO(ms << " ms a stage");
    CHECK(run("late", 2, std::size_t{64} << 20, sleep_ms(ms)).second == waited);
  }
}

TEST_CASE("A classic run's variants, written with its first tables, are the same for any timing",
          "[determinism]") {
  // The classic rules never adapt a design, so their variants table is written while the steps
  // run: one base variant per solution, whether the writer is done before the first step, held
  // until after the last, or on its own thread.
  const auto sc = scenario::load_scenario_file(
      testing::source_path("tests/data/determinism.yaml"),
      {"cities.count=3000", "time.steps=20", "solutions[0].random_seeds=30"});
  REQUIRE(sc.solutions.size() == 3);
  TempDir dir;
  auto run = [&](const std::string& name, int threads, int hold_ms) {
    const std::string path = dir / (name + ".h5");
    run_to_file(sc, path, threads, [hold_ms](app::RunOptions& opt) {
      opt.before_writer_stage = [hold_ms] {
        std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
      };
    });
    return testing::read_all_datasets(path);
  };
  const auto first = run("quick", 2, 0);
  auto ints = [](const std::string& bytes) {
    std::vector<std::int32_t> v(bytes.size() / sizeof(std::int32_t));
    std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  };
  CHECK(ints(first.at("/variants/id")) == std::vector<std::int32_t>{0, 1, 2});
  CHECK(ints(first.at("/variants/solution")) == std::vector<std::int32_t>{0, 1, 2});
  CHECK(ints(first.at("/variants/parent")) == std::vector<std::int32_t>{-1, -1, -1});
  for (std::int32_t city : ints(first.at("/variants/creator"))) {
    CHECK(city >= 0);  // each solution's first seed
    CHECK(city < 3000);
  }
  CHECK(ints(first.at("/variants/step")) == std::vector<std::int32_t>{0, 0, 0});
  for (const auto& [name, threads, hold] :
       {std::tuple{"held", 2, 100}, std::tuple{"own_thread", 1, 0},
        std::tuple{"own_thread_held", 1, 100}}) {
    INFO(name);
    CHECK(run(name, threads, hold) == first);
  }
}
