#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <set>
#include <string>

#include "support/process.hpp"
#include "sweep/design.hpp"
#include "sweep/slurm.hpp"
#include "sweep/sweep.hpp"

using namespace citynet;
using citynet::testing::TempDir;

namespace {

const char* kTinyScenario = R"(name: tiny
seed: 5
time: {steps: 20, dt: 0.5, unit: year, start: 2000}
cities: {source: synthetic, count: 500}
layers:
  - {name: random, kind: erdos_renyi, mean_degree: 6}
  - {name: world, kind: complete, influence: 0.3}
solutions:
  - {name: first, random_seeds: 2}
rule: {kind: bass, bass: {p: 0.01, q: 0.9}}
)";

// A sweep file next to the tiny scenario, loaded as the command line would load it.
sweep::Sweep load(const TempDir& dir, const std::string& text) {
  std::ofstream(dir / "tiny.yaml") << kTinyScenario;
  std::ofstream(dir / "sweep.yaml") << text;
  return sweep::load_sweep_file(dir / "sweep.yaml");
}

std::vector<std::string> problems(const TempDir& dir, const std::string& text) {
  try {
    load(dir, text);
  } catch (const InputError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.format());
    return out;
  }
  return {};
}

}  // namespace

TEST_CASE("Latin hypercube puts one point in every stratum of every dimension", "[unit]") {
  for (std::size_t n : {1u, 7u, 64u, 250u}) {
    const auto pts = sweep::latin_hypercube(n, 3, 42);
    REQUIRE(pts.size() == n);
    for (std::size_t d = 0; d < 3; ++d) {
      std::set<std::size_t> strata;
      for (const auto& p : pts) {
        REQUIRE(p.size() == 3);
        CHECK(p[d] >= 0.0);
        CHECK(p[d] < 1.0);
        strata.insert(static_cast<std::size_t>(std::floor(p[d] * static_cast<double>(n))));
      }
      CHECK(strata.size() == n);
    }
  }
}

TEST_CASE("Latin hypercube depends on its seed only", "[unit]") {
  CHECK(sweep::latin_hypercube(20, 2, 7) == sweep::latin_hypercube(20, 2, 7));
  CHECK(sweep::latin_hypercube(20, 2, 7) != sweep::latin_hypercube(20, 2, 8));
}

TEST_CASE("Sobol points start at the origin and fill every dyadic interval", "[unit]") {
  const auto pts = sweep::sobol_sequence(64, 4);
  REQUIRE(pts.size() == 64);
  for (double x : pts[0]) CHECK(x == 0.0);
  // The first 2^k points of a Sobol sequence put exactly one point in each interval of width
  // 2^-k in every single dimension.
  for (std::size_t d = 0; d < 4; ++d) {
    std::set<int> cells;
    for (const auto& p : pts) {
      CHECK(p[d] >= 0.0);
      CHECK(p[d] < 1.0);
      cells.insert(static_cast<int>(p[d] * 64));
    }
    CHECK(cells.size() == 64);
  }
  CHECK(sweep::sobol_sequence(64, 4) == pts);
}

TEST_CASE("A factorial design lists every combination once, the last key fastest", "[unit]") {
  const auto combos = sweep::factorial({2, 3});
  REQUIRE(combos.size() == 6);
  CHECK(combos[0] == std::vector<std::size_t>{0, 0});
  CHECK(combos[1] == std::vector<std::size_t>{0, 1});
  CHECK(combos[3] == std::vector<std::size_t>{1, 0});
  CHECK(std::set<std::vector<std::size_t>>(combos.begin(), combos.end()).size() == 6);
  CHECK(sweep::factorial({}).empty());
  CHECK(sweep::factorial({3, 0}).empty());
}

TEST_CASE("Run keys depend on the sweep seed and the run index only", "[unit]") {
  std::set<std::uint64_t> keys;
  for (std::int64_t i = 0; i < 1000; ++i) {
    CHECK(sweep::run_key_of(2026, i) == sweep::run_key_of(2026, i));
    keys.insert(sweep::run_key_of(2026, i));
  }
  CHECK(keys.size() == 1000);
  CHECK(sweep::run_key_of(1, 5) != sweep::run_key_of(2, 5));
}

TEST_CASE("A grid sweep crosses lists and ranges, with replications", "[unit]") {
  TempDir dir;
  const auto sw = load(dir, R"(scenario: tiny.yaml
seed: 9
replications: 3
design:
  kind: grid
  parameters:
    rule.bass.q: [0.2, 0.6]
    rule.bass.p: {from: 0.1, to: 0.3, step: 0.1}
)");
  CHECK(sw.name == "sweep");
  REQUIRE(sw.parameters.size() == 2);
  REQUIRE(sw.point_count() == 6);
  CHECK(sw.runs() == 18);
  CHECK(sw.points[0] == std::vector<std::string>{"0.2", "0.1"});
  CHECK(sw.points[2] == std::vector<std::string>{"0.2", "0.3"});
  CHECK(sw.points[5] == std::vector<std::string>{"0.6", "0.3"});
  CHECK(sw.point_of(17) == 5);
  CHECK(sw.replication_of(17) == 2);
  const auto o = sw.overrides(4);
  CHECK(o.back() == "seed=9");
  CHECK(sw.overrides(17).back() == "seed=9");
  CHECK(std::find(o.begin(), o.end(), "rule.bass.p=0.2") != o.end());
  CHECK(sw.solutions == std::vector<std::string>{"first"});
  CHECK(sw.layers == std::vector<std::string>{"random", "world"});
}

TEST_CASE("Sobol and LHS sweeps stay in bounds, round integers and honour log scales", "[unit]") {
  TempDir dir;
  for (const std::string kind : {"sobol", "lhs"}) {
    const auto sw = load(dir, "scenario: tiny.yaml\ndesign:\n  kind: " + kind +
                                  "\n  samples: 32\n  parameters:\n"
                                  "    rule.bass.p: {min: 0.0001, max: 0.1, scale: log}\n"
                                  "    time.steps: {min: 5, max: 8}\n");
    REQUIRE(sw.point_count() == 32);
    std::set<std::string> steps;
    int below_geometric_mid = 0;
    for (const auto& p : sw.points) {
      const double x = std::stod(p[0]);
      CHECK(x >= 0.0001);
      CHECK(x <= 0.1);
      if (x < std::sqrt(0.0001 * 0.1)) ++below_geometric_mid;
      CHECK(p[1].find('.') == std::string::npos);
      steps.insert(p[1]);
    }
    // A log scale puts half the points below the geometric middle of the bounds.
    CHECK(below_geometric_mid == 16);
    CHECK(steps == std::set<std::string>{"5", "6", "7", "8"});
  }
}

TEST_CASE("A Saltelli sweep lists A and B and the mixed points of each base sample", "[unit]") {
  TempDir dir;
  const auto sw = load(dir,
                       "scenario: tiny.yaml\ndesign:\n  kind: saltelli\n  samples: 8\n"
                       "  parameters:\n    rule.bass.p: {min: 0.001, max: 0.1}\n"
                       "    rule.bass.q: {min: 0.1, max: 0.9}\n");
  REQUIRE(sw.point_count() == 8 * 4);
  for (std::int64_t j = 0; j < 8; ++j) {
    const auto& a = sw.points[static_cast<std::size_t>(4 * j)];
    const auto& b = sw.points[static_cast<std::size_t>(4 * j + 1)];
    const auto& ab0 = sw.points[static_cast<std::size_t>(4 * j + 2)];
    const auto& ab1 = sw.points[static_cast<std::size_t>(4 * j + 3)];
    CHECK(ab0 == std::vector<std::string>{b[0], a[1]});
    CHECK(ab1 == std::vector<std::string>{a[0], b[1]});
    CHECK(a != b);
  }
}

TEST_CASE("An explicit list of points keeps its order", "[unit]") {
  TempDir dir;
  const auto sw = load(dir, R"(scenario: tiny.yaml
design:
  kind: points
  points:
    - {rule.kind: bass, rule.bass.q: 0.5}
    - {rule.kind: independent_cascade, rule.bass.q: 0.1}
)");
  REQUIRE(sw.point_count() == 2);
  CHECK(sw.points[1] == std::vector<std::string>{"independent_cascade", "0.1"});
}

TEST_CASE("Sweep files are checked all at once, with file, line and column", "[unit]") {
  TempDir dir;
  const auto p = problems(dir, R"(scenario: tiny.yaml
replication: 2
design:
  kind: sobol
  samples: 10
  parameters:
    rule.bass.qq: {min: 0.1, max: 0.5}
    rule.bass.p: {min: -1, max: 0.5}
    rule.kind: {min: 0, max: 1}
)");
  REQUIRE(p.size() == 4);
  CHECK(p[0].find("sweep.yaml:2:1: replication: unknown key (did you mean replications?)") !=
        std::string::npos);
  CHECK(p[1].find(":7:5: rule.bass.qq: unknown parameter (did you mean rule.bass.q?)") !=
        std::string::npos);
  CHECK(p[2].find(":8:24: rule.bass.p: -1 is outside the allowed range") != std::string::npos);
  CHECK(p[3].find(":9:5: rule.kind: is a choice") != std::string::npos);
}

TEST_CASE("Points the base scenario rejects are reported before anything runs", "[unit]") {
  TempDir dir;
  const auto p = problems(dir, R"(scenario: tiny.yaml
design:
  kind: grid
  parameters:
    layers[4].influence: [0.5]
)");
  REQUIRE(p.size() == 1);
  CHECK(p[0].find("point 0 (layers[4].influence=0.5)") != std::string::npos);
  CHECK(p[0].find("does not exist") != std::string::npos);
}

TEST_CASE("The seed and the run files are the sweep's, not parameters", "[unit]") {
  TempDir dir;
  const auto p = problems(dir,
                          "scenario: tiny.yaml\ndesign:\n  kind: grid\n  parameters:\n"
                          "    seed: [1, 2]\n    output.file: [a.h5]\n");
  REQUIRE(p.size() == 2);
  CHECK(p[0].find("seed: the sweep sets every run's seed") != std::string::npos);
  CHECK(p[1].find("output.file: the sweep names the run files") != std::string::npos);
}

TEST_CASE("The fingerprint changes with the sweep and with the base scenario", "[unit]") {
  TempDir dir;
  const std::string text =
      "scenario: tiny.yaml\ndesign: {kind: grid, parameters: {rule.bass.q: [0.1]}}\n";
  const auto a = load(dir, text);
  CHECK(load(dir, text).fingerprint == a.fingerprint);
  CHECK(load(dir, text + "seed: 3\n").fingerprint != a.fingerprint);
}

TEST_CASE("The built-in Slurm template is config/slurm.sbatch.in", "[unit]") {
  CHECK(sweep::builtin_slurm_template() ==
        citynet::testing::read_file(citynet::testing::source_path("config/slurm.sbatch.in")));
}

TEST_CASE("The Slurm script runs shard K of N as array task K", "[unit]") {
  TempDir dir;
  const auto sw = load(dir, "scenario: tiny.yaml\nreplications: 5\n");
  sweep::SlurmSettings s;
  s.citynet = "/opt/citynet/bin/citynet";
  s.sweep_file = "/home/me/s.yaml";
  s.out_dir = "/scratch/me/out";
  s.shards = 4;
  s.cpus = 2;
  const std::string script = sweep::slurm_script(sweep::builtin_slurm_template(), sw, s);
  CHECK(script.find("#SBATCH --array=0-3\n") != std::string::npos);
  CHECK(script.find("#SBATCH --cpus-per-task=2\n") != std::string::npos);
  CHECK(script.find("exec /opt/citynet/bin/citynet sweep /home/me/s.yaml --out /scratch/me/out "
                    "--shard \"${SLURM_ARRAY_TASK_ID}/4\"") != std::string::npos);
  CHECK(script.find("--dependency=afterany:") != std::string::npos);
  CHECK(script.find("--wrap=\"/opt/citynet/bin/citynet sweep --merge /scratch/me/out\"") !=
        std::string::npos);
  CHECK(script.find('@') == std::string::npos);
}
