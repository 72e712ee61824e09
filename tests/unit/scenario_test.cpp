#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/embedded.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"

using citynet::InputError;
using namespace citynet::scenario;

namespace {

// A small valid scenario that needs no data files; lines are numbered for the tests below.
const char* const kSmall =
    "name: small\n"                                             // 1
    "cities: {source: synthetic, count: 100}\n"                 // 2
    "layers:\n"                                                 // 3
    "  - name: social\n"                                        // 4
    "    kind: erdos_renyi\n"                                   // 5
    "    mean_degree: 4\n"                                      // 6
    "  - {name: near, kind: ring_lattice}\n"                    // 7
    "solutions:\n"                                              // 8
    "  - name: idea\n"                                          // 9
    "    seeds: [{id: 0}, {city: Lyon, country: FR, at: 2}]\n"  // 10
    "rule:\n"                                                   // 11
    "  kind: bass\n"                                            // 12
    "  bass: {p: 0.01, q: 0.5}\n";                              // 13

Scenario load(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return load_scenario_text(text, "test.yaml", "/tmp", overrides);
}

// The diagnostics of loading `text`; fails the test when it loads.
std::vector<citynet::Diagnostic> problems(const std::string& text,
                                          const std::vector<std::string>& overrides = {}) {
  try {
    load(text, overrides);
  } catch (const InputError& e) {
    return e.diagnostics();
  }
  FAIL("the scenario loaded although it should not");
  return {};
}

const citynet::Diagnostic* find_key(const std::vector<citynet::Diagnostic>& ds,
                                    const std::string& key) {
  for (const auto& d : ds)
    if (d.key == key) return &d;
  return nullptr;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("The built-in default scenario loads with its written values", "[unit]") {
  const Scenario sc = load_default_scenario();
  CHECK(sc.name == "world");
  CHECK(sc.seed == 2026u);
  CHECK(sc.data_dir == "<built-in>");
  CHECK(sc.source_file == "<built-in>/scenarios/world.yaml");
  CHECK(sc.time.dt == 0.08333333333333333);
  CHECK(sc.time.unit == "year");
  CHECK(sc.time.start == 2000.0);
  CHECK(sc.cities.source == CitySource::kCsv);
  CHECK(sc.cities.file == "data/world_cities.csv");
  CHECK(sc.cities.min_population == 100000.0);
  REQUIRE(sc.layers.size() == 4);
  CHECK(sc.layers[0].name == "c40");
  CHECK(sc.layers[0].kind == LayerKind::kMembership);
  CHECK(sc.layers[0].city_column == "geonameid");
  CHECK(sc.layers[0].skip_unknown_cities);
  CHECK(sc.layers[1].kind == LayerKind::kEdges);
  CHECK(sc.layers[1].source_column == "city_a_id");
  CHECK(sc.layers[2].kind == LayerKind::kGeographic);
  CHECK(sc.layers[2].radius_km == 300.0);
  CHECK(sc.layers[2].influence == 0.5);
  CHECK(sc.layers[1].dynamic);
  CHECK(sc.layers[1].trade);
  CHECK(sc.layers[3].kind == LayerKind::kInformal);
  CHECK(sc.model.country_groups_file == "data/country_groups.csv");
  REQUIRE(sc.solutions.size() == 6);
  CHECK(sc.solutions[0].name == "bus_rapid_transit");
  REQUIRE(sc.solutions[0].seeds.size() == 2);
  CHECK(sc.solutions[0].seeds[0].city == "Curitiba");
  CHECK(sc.solutions[0].seeds[0].country == "BR");
  CHECK(sc.solutions[0].seeds[0].at == 1974.0);
  CHECK(sc.solutions[0].seeds[0].id == -1);
  CHECK(sc.solutions[0].seeds[0].where.file == "<built-in>/scenarios/world.yaml");
  CHECK(sc.solutions[0].seeds[0].where.line > 0);
  CHECK(sc.rule.kind == RuleKind::kCity);
  // Calibrated values may be retuned in world.yaml; they must arrive unchanged.
  const YAML::Node written =
      YAML::Load(std::string(*citynet::embedded_file("scenarios/world.yaml")));
  CHECK(sc.model.rule.innovation == written["city"]["innovation"].as<double>());
  CHECK(sc.model.rule.imitation == written["city"]["imitation"].as<double>());
  CHECK(sc.solutions[1].model.cost == written["solutions"][1]["cost"].as<double>());
  CHECK(sc.solutions[1].model.ideal[2] == written["solutions"][1]["ideal_income"].as<double>());
  CHECK(sc.time.steps == written["time"]["steps"].as<int>());
  CHECK(sc.rule.layers.empty());
  CHECK(sc.output.compression == 1);
}

TEST_CASE("Keys left out of a scenario take the schema defaults", "[unit]") {
  const Scenario sc = load(kSmall);
  const Scenario defaults;
  CHECK(sc.seed == 1u);
  CHECK(sc.description.empty());
  CHECK(sc.time.steps == defaults.time.steps);
  CHECK(sc.time.dt == defaults.time.dt);
  CHECK(sc.time.unit == defaults.time.unit);
  CHECK(sc.cities.countries == defaults.cities.countries);
  CHECK(sc.cities.id_column == "id");
  CHECK(sc.layers[1].mean_degree == LayerSpec{}.mean_degree);
  CHECK(sc.layers[1].rewire == LayerSpec{}.rewire);
  CHECK(sc.layers[1].attach == LayerSpec{}.attach);
  CHECK(sc.layers[1].source_column == "source");
  CHECK(sc.layers[1].weight_column.empty());
  CHECK(sc.solutions[0].random_seeds == 0);
  CHECK(sc.rule.threshold_mean == RuleSpec{}.threshold_mean);
  CHECK(sc.rule.count_k == RuleSpec{}.count_k);
  CHECK(sc.rule.transmission == RuleSpec{}.transmission);
  CHECK(sc.output.events);
  CHECK(sc.output.compression == 1);
  CHECK(sc.output.file.empty());
}

TEST_CASE("The schema defaults agree with the defaults of the Scenario struct", "[unit]") {
  // A scenario that writes only what is required: every other value comes from defaults.yaml.
  const Scenario sc = load(
      "layers: [{name: a, kind: erdos_renyi}]\n"
      "solutions: [{name: s, seeds: [{id: 1}]}]\n");
  const Scenario s0;
  CHECK(sc.name == s0.name);
  CHECK(sc.seed == s0.seed);
  CHECK(sc.time.steps == s0.time.steps);
  CHECK(sc.time.dt == s0.time.dt);
  CHECK(sc.time.start == s0.time.start);
  CHECK(sc.cities.source == s0.cities.source);
  CHECK(sc.cities.count == s0.cities.count);
  CHECK(sc.cities.countries == s0.cities.countries);
  CHECK(sc.cities.name_column == s0.cities.name_column);
  CHECK(sc.cities.country_column == s0.cities.country_column);
  CHECK(sc.cities.latitude_column == s0.cities.latitude_column);
  CHECK(sc.cities.longitude_column == s0.cities.longitude_column);
  CHECK(sc.cities.population_column == s0.cities.population_column);
  CHECK(sc.cities.max_cities == s0.cities.max_cities);
  const LayerSpec l0;
  CHECK(sc.layers[0].influence == l0.influence);
  CHECK(sc.layers[0].radius_km == l0.radius_km);
  CHECK(sc.layers[0].decay_km == l0.decay_km);
  CHECK(sc.layers[0].target_column == l0.target_column);
  CHECK(sc.layers[0].city_column == l0.city_column);
  CHECK(sc.layers[0].skip_unknown_cities == l0.skip_unknown_cities);
  CHECK(sc.solutions[0].seeds[0].at == SeedSpec{}.at);
  CHECK(sc.rule.kind == s0.rule.kind);
  CHECK(sc.rule.p == s0.rule.p);
  CHECK(sc.rule.q == s0.rule.q);
  CHECK(sc.rule.threshold_distribution == s0.rule.threshold_distribution);
  CHECK(sc.rule.threshold_sd == s0.rule.threshold_sd);
  CHECK(sc.rule.threshold_min == s0.rule.threshold_min);
  CHECK(sc.rule.threshold_max == s0.rule.threshold_max);
  CHECK(sc.output.compression == s0.output.compression);
  CHECK(sc.output.events == s0.output.events);
}

TEST_CASE("Locations of written keys are kept, and where() falls back to ancestors", "[unit]") {
  const Scenario sc = load(kSmall);
  CHECK(sc.locations.at("layers[0].mean_degree").line == 6);
  CHECK(sc.locations.at("layers[0].mean_degree").column == 18);
  CHECK(sc.where("layers[0].kind").line == 5);
  CHECK(sc.where("layers[1]").line == 7);
  CHECK(sc.where("layers[1]").column == 5);
  CHECK(sc.where("solutions[0].seeds[1]").line == 10);
  // Not written: the closest written ancestor.
  CHECK(sc.where("layers[1].rewire").line == 7);
  CHECK(sc.where("rule.bass.p").line == 13);
  CHECK(sc.where("output.file").line == 0);
  CHECK(sc.where("output.file").file == "test.yaml");
  CHECK(sc.solutions[0].seeds[1].where.line == 10);
  CHECK(sc.solutions[0].seeds[1].where.column == 22);
  CHECK(sc.locations.count("time.steps") == 0);
}

TEST_CASE("Unknown keys are errors with a did-you-mean and the full path", "[unit]") {
  SECTION("nested typo") {
    const auto ds = problems(std::string(kSmall) + "time:\n  stesp: 10\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "time.stesp");
    CHECK(ds[0].where.file == "test.yaml");
    CHECK(ds[0].where.line == 15);
    CHECK(ds[0].where.column == 3);
    CHECK(contains(ds[0].message, "did you mean time.steps?"));
  }
  SECTION("a key given twice inside a group") {
    const auto ds = problems(std::string(kSmall) + "  kind: bass\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "rule.kind");
    CHECK(ds[0].where.line == 14);
  }
  SECTION("key at the wrong level") {
    const auto ds = problems(std::string(kSmall) + "steps: 10\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "steps");
    CHECK(contains(ds[0].message, "did you mean time.steps?"));
  }
  SECTION("typo of a layer field") {
    const auto ds =
        problems("layers: [{name: a, kind: complete, influnce: 2}]\nsolutions: [{name: s}]\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "layers[0].influnce");
    CHECK(ds[0].where.line == 1);
    CHECK(ds[0].where.column == 36);
    CHECK(contains(ds[0].message, "did you mean layers[0].influence?"));
  }
  SECTION("nothing close lists the keys") {
    const auto ds = problems(std::string(kSmall) + "output: {zzzzzz: 1}\n");
    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, "file, compression, events"));
  }
}

TEST_CASE("Wrong types, ranges and choices say what was expected", "[unit]") {
  const std::string base =
      "cities: {source: synthetic, count: 100}\n"
      "layers: [{name: a, kind: complete}]\n"
      "solutions: [{name: s}]\n";
  auto first = [&](const std::string& extra) {
    const auto ds = problems(base + extra);
    REQUIRE(!ds.empty());
    return ds[0];
  };
  auto d = first("time: {steps: abc}\n");
  CHECK(d.key == "time.steps");
  CHECK(d.message == "expected a whole number, got 'abc'");
  CHECK(d.where.line == 4);
  CHECK(d.where.column == 15);

  d = first("time: {steps: 2.5}\n");
  CHECK(d.message == "expected a whole number, got '2.5'");
  d = first("seed: -3\n");
  CHECK(d.message == "-3 is below the minimum 0");
  d = first("time: {dt: 0}\n");
  CHECK(d.message == "0 must be greater than 0");
  d = first("rule: {bass: {p: abc}}\n");
  CHECK(d.message == "expected a number, got 'abc'");
  d = first("rule: {cascade: {transmission: 1.5}}\n");
  CHECK(d.message == "1.5 is above the maximum 1");
  d = first("output: {compression: 10}\n");
  CHECK(d.message == "10 is above the maximum 9");
  d = first("output: {events: maybe}\n");
  CHECK(d.message == "expected true or false, got 'maybe'");
  d = first("rule: {kind: bas}\n");
  CHECK(contains(d.message, "is not one of bass, fractional_threshold"));
  CHECK(contains(d.message, "did you mean bass?"));
  d = first("rule: {threshold: {distribution: Uniform}}\n");
  CHECK(contains(d.message, "did you mean uniform?"));
  d = first("name: [a, b]\n");
  CHECK(d.message == "expected text, got a list");
  d = first("time: {steps: {a: 1}}\n");
  CHECK(d.message == "expected a whole number, got a map");
  d = first("rule: {layers: a}\n");
  CHECK(contains(d.message, "expected a list of names"));
  d = first("time: 5\n");
  CHECK(d.key == "time");
  CHECK(contains(d.message, "expected a map of keys"));
  d = first("description:\n");
  CHECK(d.key == "description");
  CHECK(contains(d.message, "no value given"));
}

TEST_CASE("Huge, non-finite and overflowing numbers are rejected without overflow", "[unit]") {
  const std::string base = "layers: [{name: a, kind: complete}]\nsolutions: [{name: s}]\n";
  auto message = [&](const std::string& extra) {
    const auto ds = problems(base + extra);
    REQUIRE(ds.size() == 1);
    return ds[0].message;
  };
  CHECK(message("cities: {count: 1e12}\n") == "1e12 is above the maximum 100000000");
  CHECK(message("cities: {count: 1000000000000}\n") ==
        "1000000000000 is above the maximum 100000000");
  CHECK(message("cities: {count: 99999999999999999999999}\n") ==
        "99999999999999999999999 is above the maximum 100000000");
  CHECK(message("seed: 1e300\n") == "'1e300' is too large a number");
  CHECK(contains(message("time: {dt: 1e999}\n"), "beyond the range"));
  CHECK(contains(message("time: {dt: .nan}\n"), "not a finite number"));
  CHECK(contains(message("time: {start: .inf}\n"), "not a finite number"));
  CHECK(contains(message("time: {start: -.Inf}\n"), "not a finite number"));
  CHECK(contains(message("time: {start: nan}\n"), "not a finite number"));
  // Whole numbers written in other forms are accepted.
  const Scenario sc = load(base + "cities: {count: 1e3}\ntime: {steps: +20}\nseed: 12.0\n");
  CHECK(sc.cities.count == 1000);
  CHECK(sc.time.steps == 20);
  CHECK(sc.seed == 12u);
}

TEST_CASE("Every problem of a file is reported at once", "[unit]") {
  const auto ds = problems(
      "nmae: x\n"                                                    // 1 unknown key
      "time: {steps: 0, dt: -1}\n"                                   // 2 two range errors
      "cities: {source: csv}\n"                                      // 3 csv without file
      "layers:\n"                                                    // 4
      "  - {name: a, kind: complete}\n"                              // 5
      "  - {name: a, kind: edges}\n"                                 // 6 duplicate, no file
      "  - {kind: hyperbolic}\n"                                     // 7 no name, bad kind
      "solutions: [{name: s, seeds: [{at: 1}]}]\n"                   // 8 seed without city or id
      "rule: {layers: [a, b], threshold: {min: 0.9, max: 0.1}}\n");  // 9
  std::set<std::string> keys;
  for (const auto& d : ds) keys.insert(d.key);
  CHECK(keys.count("nmae"));
  CHECK(keys.count("time.steps"));
  CHECK(keys.count("time.dt"));
  CHECK(keys.count("cities.file"));
  CHECK(keys.count("layers[1].name"));
  CHECK(keys.count("layers[1].file"));
  CHECK(keys.count("layers[2].name"));
  CHECK(keys.count("layers[2].kind"));
  CHECK(keys.count("solutions[0].seeds[0]"));
  CHECK(keys.count("rule.layers[1]"));
  CHECK(keys.count("rule.threshold.min"));
  CHECK(ds.size() == 11);
  const auto* missing = find_key(ds, "layers[2].name");
  REQUIRE(missing);
  CHECK(missing->where.line == 7);
  CHECK(missing->where.column == 5);
  try {
    load("time: {steps: 0, dt: -1}\nlayers: []\nsolutions: [{name: s}]\n");
  } catch (const InputError& e) {
    CHECK(contains(e.report(), "2 problems; nothing was run."));
    CHECK(contains(e.report(), "test.yaml:1:15: time.steps: 0 is below the minimum 1\n"));
  }
}

TEST_CASE("Cross-checks: names, rule layers, files, thresholds, seeds", "[unit]") {
  SECTION("rule.layers names a missing layer") {
    const auto ds = problems(std::string(kSmall) + "  layers: [social, neer]\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "rule.layers[1]");
    CHECK(ds[0].where.line == 14);
    CHECK(ds[0].where.column == 20);
    CHECK(contains(ds[0].message, "did you mean near?"));
  }
  SECTION("duplicate solution names") {
    const auto ds =
        problems("layers: [{name: a, kind: complete}]\nsolutions: [{name: s}, {name: s}]\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "solutions[1].name");
  }
  SECTION("no solutions") {
    const auto ds = problems("layers: [{name: a, kind: complete}]\nsolutions: []\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "solutions");
    CHECK(ds[0].where.line == 2);
  }
  SECTION("missing data files name the resolved path") {
    const auto ds = problems(
        "cities: {source: csv, file: nowhere.csv}\n"
        "layers: [{name: m, kind: membership, file: sub/none.csv}]\nsolutions: [{name: s}]\n");
    REQUIRE(ds.size() == 2);
    CHECK(ds[0].key == "cities.file");
    CHECK(contains(ds[0].message, "file not found: /tmp/nowhere.csv"));
    CHECK(ds[1].key == "layers[0].file");
    CHECK(contains(ds[1].message, "/tmp/sub/none.csv"));
  }
  SECTION("built-in data is found without files on disk") {
    const Scenario sc = load(
        "data_dir: <built-in>\ncities: {source: csv, file: data/world_cities.csv}\n"
        "layers: [{name: m, kind: membership, file: data/c40_members.csv}]\n"
        "solutions: [{name: s}]\n");
    CHECK(sc.data_dir == "<built-in>");
    const auto ds = problems(
        "data_dir: <built-in>\ncities: {source: csv, file: data/nope.csv}\n"
        "layers: []\nsolutions: [{name: s}]\n");
    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, "<built-in>/scenarios/data/nope.csv"));
  }
}

TEST_CASE("YAML syntax errors and hostile documents give clean diagnostics", "[unit]") {
  SECTION("syntax error with 1-based position") {
    const auto ds = problems("name: a\ntime:\n  steps: 1\n bad: [\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "yaml");
    CHECK(ds[0].where.file == "test.yaml");
    CHECK(ds[0].where.line >= 3);
    CHECK(ds[0].where.column >= 1);
  }
  SECTION("empty and comment-only files") {
    for (const char* text : {"", "\n\n", "# just a comment\n"}) {
      const auto ds = problems(text);
      REQUIRE(ds.size() == 1);
      CHECK(ds[0].key == "scenario");
      CHECK(ds[0].where.line == 1);
      CHECK(contains(ds[0].message, "empty"));
    }
  }
  SECTION("top level not a map") {
    const auto ds = problems("just text\n");
    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, "must be a map"));
  }
  SECTION("deep nesting") {
    std::string text = "name: ";
    for (int i = 0; i < 200; ++i) text += "[";
    for (int i = 0; i < 200; ++i) text += "]";
    const auto ds = problems(text + "\n");
    REQUIRE(!ds.empty());
    CHECK(contains(ds[0].message, "nested deeper than 64"));
  }
  SECTION("very deep nesting beyond the parser's own guard") {
    std::string text = "name: ";
    for (int i = 0; i < 5000; ++i) text += "[";
    const auto ds = problems(text + "\n");
    REQUIRE(!ds.empty());
    CHECK(ds[0].key == "yaml");
  }
  SECTION("alias bomb") {
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = '1'; level <= '9'; ++level) {
      const char previous = static_cast<char>(level - 1);
      text.append("a").push_back(level);
      text.append(": &a").push_back(level);
      text.append(" [");
      for (int j = 0; j < 10; ++j) text.append(j ? ", *a" : "*a").push_back(previous);
      text.append("]\n");
    }
    const auto ds = problems(text);
    REQUIRE(!ds.empty());
    CHECK(contains(ds[0].message, "more than 1000000 values"));
  }
  SECTION("duplicate keys") {
    const auto ds = problems(std::string(kSmall) + "name: again\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "name");
    CHECK(ds[0].where.line == 14);
    CHECK(contains(ds[0].message, "first given at line 1"));
  }
}

TEST_CASE("Overrides apply on top of the file before validation", "[unit]") {
  const Scenario sc =
      load(kSmall, {"rule.bass.p=0.05", "layers[1].influence=0", "time.steps=10",
                    "rule.layers=[social, near]", "solutions[0].seeds[1].at=7.5",
                    "output.file = out dir/run.h5", "description=", "rule.kind=count_threshold",
                    "cities.count=1e3"});
  CHECK(sc.rule.p == 0.05);
  CHECK(sc.layers[1].influence == 0.0);
  CHECK(sc.layers[0].influence == 1.0);
  CHECK(sc.time.steps == 10);
  CHECK(sc.rule.layers == std::vector<std::string>{"social", "near"});
  CHECK(sc.solutions[0].seeds[1].at == 7.5);
  CHECK(sc.solutions[0].seeds[1].city == "Lyon");
  CHECK(sc.output.file == "out dir/run.h5");
  CHECK(sc.description.empty());
  CHECK(sc.rule.kind == RuleKind::kCountThreshold);
  CHECK(sc.cities.count == 1000);
  CHECK(sc.locations.at("rule.bass.p").file == "--set");
  CHECK(sc.locations.at("time.steps").file == "--set");
  CHECK(sc.where("rule.bass.q").file == "test.yaml");
  // The default scenario takes overrides too.
  CHECK(load_default_scenario({"time.steps=12"}).time.steps == 12);
}

TEST_CASE("Bad overrides are reported against --set with their key", "[unit]") {
  auto only = [](const std::vector<std::string>& overrides) {
    const auto ds = problems(kSmall, overrides);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].where.file == "--set");
    return ds[0];
  };
  auto d = only({"rule.bass.pp=0.1"});
  CHECK(d.key == "rule.bass.pp");
  CHECK(contains(d.message, "did you mean rule.bass.p?"));
  d = only({"rule.bass.p=-1"});
  CHECK(d.key == "rule.bass.p");
  CHECK(d.message == "-1 is below the minimum 0");
  d = only({"time.steps"});
  CHECK(contains(d.message, "expected KEY=VALUE"));
  d = only({"layers[5].influence=1"});
  CHECK(d.key == "layers[5].influence");
  CHECK(contains(d.message, "layers[5] does not exist"));
  CHECK(contains(d.message, "has 2 layers"));
  d = only({"layers.influence=1"});
  CHECK(contains(d.message, "layers is a list"));
  d = only({"time[0].steps=1"});
  CHECK(contains(d.message, "not a list"));
  d = only({"rule.kind.x=1"});
  CHECK(contains(d.message, "single value"));
  d = only({"time.steps=[1, 2"});
  CHECK(contains(d.message, "cannot read the value"));
  d = only({"layers[x].influence=1"});
  CHECK(contains(d.message, "cannot read the key"));
  d = only({"rule.layers=[social, nowhere]"});
  CHECK(d.key == "rule.layers[1]");
}

TEST_CASE("The resolved YAML reloads to the same scenario", "[unit]") {
  auto same = [](const Scenario& a, const Scenario& b) {
    CHECK(a.resolved_yaml == b.resolved_yaml);
    CHECK(a.name == b.name);
    CHECK(a.description == b.description);
    CHECK(a.seed == b.seed);
    CHECK(a.data_dir == b.data_dir);
    CHECK(std::memcmp(&a.time.dt, &b.time.dt, sizeof(double)) == 0);
    CHECK(a.time.steps == b.time.steps);
    CHECK(a.time.start == b.time.start);
    CHECK(a.cities.source == b.cities.source);
    CHECK(a.cities.file == b.cities.file);
    CHECK(a.cities.min_population == b.cities.min_population);
    REQUIRE(a.layers.size() == b.layers.size());
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
      CHECK(a.layers[i].name == b.layers[i].name);
      CHECK(a.layers[i].kind == b.layers[i].kind);
      CHECK(a.layers[i].influence == b.layers[i].influence);
      CHECK(a.layers[i].file == b.layers[i].file);
      CHECK(a.layers[i].weight_column == b.layers[i].weight_column);
      CHECK(a.layers[i].skip_unknown_cities == b.layers[i].skip_unknown_cities);
    }
    REQUIRE(a.solutions.size() == b.solutions.size());
    for (std::size_t i = 0; i < a.solutions.size(); ++i) {
      CHECK(a.solutions[i].name == b.solutions[i].name);
      REQUIRE(a.solutions[i].seeds.size() == b.solutions[i].seeds.size());
      for (std::size_t j = 0; j < a.solutions[i].seeds.size(); ++j) {
        CHECK(a.solutions[i].seeds[j].city == b.solutions[i].seeds[j].city);
        CHECK(a.solutions[i].seeds[j].id == b.solutions[i].seeds[j].id);
        CHECK(a.solutions[i].seeds[j].at == b.solutions[i].seeds[j].at);
      }
    }
    CHECK(a.rule.kind == b.rule.kind);
    CHECK(a.rule.layers == b.rule.layers);
    CHECK(a.rule.p == b.rule.p);
    CHECK(a.rule.q == b.rule.q);
    CHECK(a.output.file == b.output.file);
  };
  SECTION("default scenario") {
    const Scenario a = load_default_scenario();
    const Scenario b = load_scenario_text(a.resolved_yaml, "resolved.yaml", "/somewhere/else");
    same(a, b);
  }
  SECTION("awkward strings and doubles") {
    const Scenario a = load(std::string(kSmall) +
                                "description: \"quote \\\" backslash \\\\ colon: # hash\\n"
                                "line two, tab\\t, unicode \u00e9\"\n"
                                "output: {file: 'null'}\n"
                                "time: {dt: 0.1, start: -1.2345678901234567e-300}\n",
                            {"name=true", "solutions[0].seeds[1].city='- dash'", "rule.bass.q=1e-7",
                             "layers[0].weight_column='123'"});
    CHECK(a.name == "true");
    CHECK(a.output.file == "null");
    CHECK(a.description == "quote \" backslash \\ colon: # hash\nline two, tab\t, unicode \u00e9");
    CHECK(a.layers[0].weight_column == "123");
    const Scenario b = load_scenario_text(a.resolved_yaml, "resolved.yaml", "/elsewhere");
    same(a, b);
    CHECK(b.time.start == -1.2345678901234567e-300);
    CHECK(b.rule.q == 1e-7);
  }
  SECTION("relative data directory is written resolved") {
    const Scenario a = load_scenario_text(std::string(kSmall) + "data_dir: ../data\n", "x.yaml",
                                          "/base/scenarios");
    CHECK(a.data_dir == "/base/data");
    const Scenario b = load_scenario_text(a.resolved_yaml, "y.yaml", "/other");
    CHECK(b.data_dir == "/base/data");
    same(a, b);
    const Scenario c = load_scenario_text(kSmall, "x.yaml", "/base/scenarios");
    CHECK(c.data_dir == "/base/scenarios");
  }
}

TEST_CASE("Scenario files on disk resolve data next to the file", "[unit]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "citynet_scenario_test";
  fs::create_directories(dir / "data");
  std::ofstream(dir / "data" / "ties.csv") << "source,target\n1,2\n";
  std::ofstream(dir / "s.yaml") << "layers: [{name: t, kind: edges, file: data/ties.csv}]\n"
                                   "solutions: [{name: s}]\n";
  const Scenario sc = load_scenario_file((dir / "s.yaml").string());
  CHECK(sc.data_dir == fs::absolute(dir).lexically_normal().string());
  CHECK(sc.source_file == (dir / "s.yaml").string());
  CHECK(citynet::read_data_file(sc.data_dir, sc.layers[0].file).has_value());
  try {
    load_scenario_file((dir / "missing.yaml").string());
    FAIL("a missing file loaded");
  } catch (const InputError& e) {
    CHECK(contains(e.diagnostics()[0].message, "not found"));
  }
  fs::remove_all(dir);
}

TEST_CASE("The parameter table covers every scenario key", "[unit]") {
  const auto& ps = parameters();
  std::set<std::string> keys;
  for (const auto& p : ps) keys.insert(p.key);
  CHECK(keys.size() == ps.size());
  CHECK(ps.size() == 123);  // every leaf of config/defaults.yaml; update with the schema
  for (const char* k : {"name",
                        "description",
                        "seed",
                        "data_dir",
                        "time.steps",
                        "time.dt",
                        "time.unit",
                        "time.start",
                        "cities.source",
                        "cities.count",
                        "cities.countries",
                        "cities.file",
                        "cities.id_column",
                        "cities.name_column",
                        "cities.country_column",
                        "cities.latitude_column",
                        "cities.longitude_column",
                        "cities.population_column",
                        "cities.min_population",
                        "cities.max_cities",
                        "layers",
                        "layers[].name",
                        "layers[].kind",
                        "layers[].influence",
                        "layers[].mean_degree",
                        "layers[].rewire",
                        "layers[].attach",
                        "layers[].radius_km",
                        "layers[].decay_km",
                        "layers[].file",
                        "layers[].source_column",
                        "layers[].target_column",
                        "layers[].weight_column",
                        "layers[].city_column",
                        "layers[].skip_unknown_cities",
                        "solutions",
                        "solutions[].name",
                        "solutions[].seeds",
                        "solutions[].seeds[].city",
                        "solutions[].seeds[].country",
                        "solutions[].seeds[].id",
                        "solutions[].seeds[].at",
                        "solutions[].random_seeds",
                        "solutions[].random_seeds_at",
                        "rule.kind",
                        "rule.layers",
                        "rule.bass.p",
                        "rule.bass.q",
                        "rule.threshold.distribution",
                        "rule.threshold.mean",
                        "rule.threshold.sd",
                        "rule.threshold.min",
                        "rule.threshold.max",
                        "rule.count.k",
                        "rule.cascade.transmission",
                        "output.file",
                        "output.compression",
                        "output.events"})
    CHECK(keys.count(k) == 1);
  for (const auto& p : ps) {
    INFO(p.key);
    CHECK(!p.doc.empty());
    CHECK(!p.type.empty());
    if (p.type != "list") CHECK((p.required || !p.default_text.empty()));
  }
  auto find = [&](const std::string& k) {
    for (const auto& p : ps)
      if (p.key == k) return p;
    FAIL("no parameter " << k);
    return Parameter{};
  };
  const Parameter steps = find("time.steps");
  CHECK(steps.type == "int");
  CHECK(steps.default_text == "120");
  CHECK(steps.min == 1.0);
  CHECK(steps.max == 100000000.0);
  const Parameter kind = find("layers[].kind");
  CHECK(kind.required);
  CHECK(kind.choices.size() == 9);
  CHECK(find("rule.bass.p").units == "per unit time");
  CHECK(find("layers[].radius_km").units == "km");
  CHECK(find("description").default_text == "\"\"");
  CHECK(find("rule.layers").type == "string_list");
}

TEST_CASE("citynet params text and the markdown reference list every parameter", "[unit]") {
  const std::string text = parameters_text();
  const std::string md = parameters_markdown();
  CHECK(contains(md, "Generated by `citynet params --markdown`"));
  for (const auto& p : parameters()) {
    INFO(p.key);
    CHECK(contains(text, p.key));
    CHECK(contains(md, "`" + p.key + "`"));
  }
  CHECK(contains(text, "one of synthetic, csv"));
  CHECK(contains(text, "1 .. 100000000"));
  CHECK(contains(text, "> 0"));
}

TEST_CASE("The resolved YAML is the text yaml-cpp's emitter wrote", "[unit]") {
  // Run files keep this text and sweeps fingerprint it: it must not change with the code that
  // writes it. The .resolved.yaml files are what yaml-cpp's YAML::Emitter wrote for each input.
  const std::filesystem::path dir =
      std::filesystem::path(CITYNET_SOURCE_DIR) / "tests" / "data" / "resolved";
  auto text = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto golden = [&](const std::string& name, const std::string& resolved) {
    CHECK(resolved == text(dir / (name + ".resolved.yaml")));
  };
  SECTION("default scenario") {
    golden("default", load_default_scenario().resolved_yaml);
  }
  for (const char* name : {"awkward", "many_solutions"}) {
    DYNAMIC_SECTION(name) {
      const Scenario sc = load_scenario_text(text(dir / (std::string(name) + ".yaml")),
                                             std::string(name) + ".yaml", "/golden/scenarios");
      golden(name, sc.resolved_yaml);
    }
  }
}
