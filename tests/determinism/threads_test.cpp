#include <tbb/global_control.h>

#include <catch2/catch.hpp>
#include <string>

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
