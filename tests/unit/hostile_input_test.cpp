#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/csv.hpp"
#include "io/text.hpp"
#include "model/cities.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "scenario/loader.hpp"
#include "unit/net_checks.hpp"

// Input a hostile or careless user could hand citynet: each must end in an InputError that says
// where and what, never in an abort, a hang or an exhausted memory.

using citynet::Diagnostic;
using citynet::InputError;
using citynet::model::CityTable;
using citynet::scenario::CitySource;
using citynet::scenario::LayerKind;
using citynet::scenario::LayerSpec;
using citynet::scenario::Scenario;
using citynet::test::TempDir;

namespace {

const std::uint64_t kKey = citynet::rng::run_key(3, 0);
const std::string kValid = "layers: [{name: a, kind: complete}]\nsolutions: [{name: s}]\n";

std::vector<Diagnostic> scenario_problems(const std::string& text) {
  try {
    citynet::scenario::load_scenario_text(text, "hostile.yaml", "/tmp");
  } catch (const InputError& e) {
    return e.diagnostics();
  }
  FAIL("the scenario loaded although it should not");
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// The first diagnostic of loading the CSV text through `load`, formatted.
template <typename Load>
std::string csv_error(Load load) {
  try {
    load();
  } catch (const InputError& e) {
    REQUIRE(!e.diagnostics().empty());
    return e.diagnostics().front().format();
  }
  FAIL("the data loaded although it should not");
  return {};
}

Scenario cities_scenario(const TempDir& dir, const std::string& text) {
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = dir.path();
  s.cities.source = CitySource::kCsv;
  s.cities.file = "cities.csv";
  dir.write("cities.csv", text);
  return s;
}

Scenario edges_scenario(const TempDir& dir, const std::string& text, LayerKind kind) {
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = dir.path();
  LayerSpec l;
  l.name = "ties";
  l.kind = kind;
  l.file = "ties.csv";
  s.layers = {l};
  dir.write("ties.csv", text);
  return s;
}

// Cities with external ids 1, 2 and 3.
CityTable three_cities() {
  CityTable t;
  for (int i = 1; i <= 3; ++i) {
    t.id.push_back(i);
    t.name.push_back("c" + std::to_string(i));
    t.country.push_back("AA");
    t.latitude.push_back(0);
    t.longitude.push_back(0);
    t.population.push_back(1);
  }
  return t;
}

const std::string kCityHeader = "id,name,country_code,latitude,longitude,population\n";

}  // namespace

TEST_CASE("YAML nested 10000 levels deep is refused with a clear message", "[unit]") {
  const int levels = 10000;
  for (const std::string& text :
       {"name: " + repeat("[", levels) + repeat("]", levels) + "\n",
        "name: " + repeat("{a: ", levels) + "1" + repeat("}", levels) + "\n",
        "name: " + repeat("[", levels) + "\n", "name:\n  " + repeat("- ", levels) + "x\n",
        repeat("&x [", levels) + repeat("]", levels) + "\n"}) {
    INFO(text.substr(0, 40));
    const auto ds = scenario_problems(text);
    REQUIRE(!ds.empty());
    CHECK(ds[0].key == "yaml");
    CHECK(ds[0].where.file == "hostile.yaml");
    CHECK(contains(ds[0].message, "nested"));
    CHECK(ds.size() == 1);
  }
}

TEST_CASE("A stray comma or bracket at the top level is a syntax error and no hang", "[unit]") {
  // yaml-cpp 0.7 alone loops forever on these, allocating until memory runs out.
  for (const std::string text : {",\n", "[a],\n", "{a: 1},\n", ", a\n", "name: x\n[a],\n"}) {
    INFO(text);
    const auto ds = scenario_problems(text);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "yaml");
    CHECK(ds[0].where.line >= 1);
  }
  const auto ds = scenario_problems(",\n");
  CHECK(ds[0].format() ==
        "hostile.yaml:1:1: yaml: unexpected ',' here: ',', ']' and '}' belong "
        "inside a [list] or {map} written on one line");
}

TEST_CASE("A huge scenario is refused before it is parsed", "[unit]") {
  SECTION("50 MB of text") {
    const std::string text = kValid + "description: \"" + std::string(50u << 20, 'x') + "\"\n";
    const auto ds = scenario_problems(text);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "yaml");
    CHECK(contains(ds[0].message, "more than the 1 MB a scenario may have"));
  }
  SECTION("just over the limit with a million small values") {
    const std::string text = kValid + "description: [" + repeat("1,", 600'000) + "1]\n";
    const auto ds = scenario_problems(text);
    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, "a scenario is a short text file"));
  }
  SECTION("a file on disk is refused by its size") {
    TempDir dir("huge_yaml");
    const std::string path =
        dir.write("huge.yaml", kValid + "# " + std::string(2u << 20, 'x') + "\n");
    try {
      citynet::scenario::load_scenario_file(path);
      FAIL("loaded");
    } catch (const InputError& e) {
      REQUIRE(e.diagnostics().size() == 1);
      CHECK(e.diagnostics()[0].where.file == path);
      CHECK(contains(e.diagnostics()[0].message, "a scenario is a short text file"));
    }
  }
}

TEST_CASE("Alias bombs of maps and of lists stop at the value budget", "[unit]") {
  // Ten levels, each aliasing the level below ten times: 10^10 values once expanded.
  std::string maps = "a0: &a0 {k: x}\n";
  std::string lists = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    const std::string anchor = "a" + std::to_string(level) + ": &a" + std::to_string(level);
    maps += anchor + " {";
    lists += anchor + " [";
    for (int j = 0; j < 10; ++j) {
      maps += (j ? ", k" : "k") + std::to_string(j) + ": " + prev;
      lists += (j ? ", " : "") + prev;
    }
    maps += "}\n";
    lists += "]\n";
  }
  for (const std::string& text : {maps, lists, "description: " + lists.substr(4)}) {
    const auto ds = scenario_problems(text);
    REQUIRE(!ds.empty());
    CHECK(contains(ds[0].message, "more than 1000000 values"));
  }
}

TEST_CASE("Scenario text that is not UTF-8 is refused at the offending byte", "[unit]") {
  struct Case {
    std::string text;
    int line, column;
    std::string says;
  };
  const std::vector<Case> cases = {
      {kValid + "name: S\xE3o Paulo\n", 3, 8, "byte 0xE3 is not UTF-8"},  // Latin-1
      {kValid + "name: \xC0\xAF\n", 3, 7, "not UTF-8"},                   // overlong '/'
      {kValid + "name: \xED\xA0\x80\n", 3, 7, "not UTF-8"},               // a UTF-16 surrogate
      {kValid + "name: \xF4\x90\x80\x80\n", 3, 7, "not UTF-8"},           // beyond U+10FFFF
      {kValid + "name: trunc\xE2\x82", 3, 12, "not UTF-8"},               // cut at the end
      {kValid + std::string("name: a\0b\n", 10), 3, 8, "NUL byte"},
      {kValid + "name: bell\a\n", 3, 11, "control character 0x07"},
      {"\xFF\xFE"
       "n\0a\0m\0e\0",
       1, 1, "UTF-16"},
  };
  for (const auto& c : cases) {
    INFO(c.says);
    const auto ds = scenario_problems(c.text);
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "yaml");
    CHECK(ds[0].where.line == c.line);
    CHECK(ds[0].where.column == c.column);
    CHECK(contains(ds[0].message, c.says));
  }
  // UTF-8 proper, with or without a byte-order mark, is fine.
  const auto sc = citynet::scenario::load_scenario_text(
      "\xEF\xBB\xBF" + kValid + "name: S\xC3\xA3o Paulo \xE2\x80\x93 \xE6\x9D\xB1\xE4\xBA\xAC\n",
      "ok.yaml", "/tmp");
  CHECK(sc.name == "S\xC3\xA3o Paulo \xE2\x80\x93 \xE6\x9D\xB1\xE4\xBA\xAC");
}

TEST_CASE("NaN, Inf and absurd counts in any numeric key are refused", "[unit]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cities: {count: .inf}\n", "not a finite number"},
      {"cities: {count: -.nan}\n", "not a finite number"},
      {"cities: {count: 1e12}\n", "above the maximum"},
      {"cities: {count: -1e12}\n", "below the minimum"},
      {"cities: {count: 0}\n", "below the minimum"},
      {"cities: {count: 1e400}\n", "too large"},
      {"cities: {countries: -3}\n", "below the minimum"},
      {"cities: {max_cities: 1e15}\n", "above the maximum"},
      {"time: {steps: 1e300}\n", "above the maximum"},
      {"time: {steps: -1}\n", "below the minimum"},
      {"time: {dt: 0}\n", "must be greater than 0"},
      {"seed: -1\n", "below the minimum"},
      {"seed: 18446744073709551616\n", "too large"},
      {"rule: {bass: {p: .NaN}}\n", "not a finite number"},
      {"rule: {bass: {q: -.inf}}\n", "not a finite number"},
      {"rule: {count: {k: 1e12}}\n", "above the maximum"},
  };
  const std::string layers = "layers: [{name: a, kind: complete}]\n";
  for (const auto& [extra, says] : cases) {
    INFO(extra);
    const auto ds = scenario_problems(layers + "solutions: [{name: s}]\n" + extra);
    REQUIRE(ds.size() == 1);
    CHECK(contains(ds[0].message, says));
  }
  SECTION("seed counts") {
    const auto ds = scenario_problems(layers + "solutions: [{name: s, random_seeds: 1e12}]\n");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].key == "solutions[0].random_seeds");
  }
}

TEST_CASE("A generated layer too large for memory is refused at its key", "[unit]") {
  Scenario s;
  s.source_file = "test.yaml";
  s.locations["layers[0].mean_degree"] = citynet::Location{"test.yaml", 4, 17};
  s.locations["layers[0].attach"] = citynet::Location{"test.yaml", 4, 17};
  CityTable cities;
  cities.id.resize(1'000'000);  // only the count matters before the ties are generated
  for (const auto kind : {LayerKind::kErdosRenyi, LayerKind::kRingLattice,
                          LayerKind::kWattsStrogatz, LayerKind::kBarabasiAlbert}) {
    LayerSpec l;
    l.name = "dense";
    l.kind = kind;
    l.mean_degree = 100'000;
    l.attach = 10'000;
    s.layers = {l};
    const std::string e = csv_error([&] { citynet::net::build_network(s, cities, kKey); });
    CHECK(contains(e, "test.yaml:4:17: layers[0]."));
    CHECK(contains(e, "more than the supported 5e8"));
  }
}

TEST_CASE("City CSV: hostile files get FILE:LINE messages", "[unit]") {
  TempDir dir("hostile_cities");
  auto error = [&](const std::string& text) {
    const Scenario s = cities_scenario(dir, text);
    return csv_error([&] { citynet::model::load_cities(s, kKey); });
  };
  const std::string file = dir.path() + "/cities.csv";
  CHECK(error("") == file + ": empty file, expected a header row");
  CHECK(error("\xEF\xBB\xBF\r\n\r\n") == file + ": empty file, expected a header row");
  CHECK(contains(error(kCityHeader + "1,Z\xFCrich,CH,47.4,8.5,400000\n"),
                 file + ":2:4: byte 0xFC is not UTF-8"));
  CHECK(contains(error(kCityHeader + "1,A,AA,0,0,1\n2,B,BB,0,0\n"),
                 file + ":3: row has 5 fields, the header has 6"));
  CHECK(contains(error(kCityHeader + "1,A,AA,nan,0,1\n"), file + ":2: column 'latitude'"));
  CHECK(contains(error(kCityHeader + "1,A,AA,0,inf,1\n"), file + ":2: column 'longitude'"));
  CHECK(contains(error(kCityHeader + "1,A,AA,0,0,1e999\n"), file + ":2: column 'population'"));
  CHECK(
      contains(error(kCityHeader + "99999999999999999999,A,AA,0,0,1\n"), file + ":2: column 'id'"));
  CHECK(contains(error(kCityHeader + "1,A,AA,0,0,1\r\n1,B,BB,0,0,1\r\n"),
                 file + ":3: city id 1 is already used on line 2"));
  CHECK(contains(error("id,name,latitude,longitude,population\n1,A,0,0,1\n"),
                 "has no column 'country_code'"));
}

TEST_CASE("City CSV: a byte-order mark, CRLF and quoted names are accepted", "[unit]") {
  TempDir dir("bom_cities");
  const Scenario s = cities_scenario(
      dir, "\xEF\xBB\xBF" + std::string("id,name,country_code,latitude,longitude,population\r\n") +
               "1,\"Washington, D.C.\",US,38.9,-77.0,689545\r\n2,S\xC3\xA3o Paulo,BR,-23.5,-46.6,"
               "12325232");
  const CityTable t = citynet::model::load_cities(s, kKey);
  REQUIRE(t.size() == 2);
  CHECK(t.name[0] == "Washington, D.C.");
  CHECK(t.name[1] == "S\xC3\xA3o Paulo");
  CHECK(t.population[1] == 12325232.0);
}

TEST_CASE("Edge and membership CSV: hostile files get FILE:LINE messages", "[unit]") {
  TempDir dir("hostile_edges");
  const CityTable cities = three_cities();
  const std::string file = dir.path() + "/ties.csv";
  auto error = [&](const std::string& text, LayerKind kind = LayerKind::kEdges) {
    const Scenario s = edges_scenario(dir, text, kind);
    return csv_error([&] { citynet::net::build_network(s, cities, kKey); });
  };
  CHECK(error("") == file + ": empty file, expected a header row");
  CHECK(error("", LayerKind::kMembership) == file + ": empty file, expected a header row");
  CHECK(
      contains(error("source,target\n1,x\n"), file + ":2: column 'target': 'x' is not a city id"));
  CHECK(contains(error("source,target\r\n1,2\r\n1,99\r\n"),
                 file + ":3: city id 99 in column 'target' is not among the loaded cities"));
  CHECK(contains(error("source,target\n1,2\n3,1.5\n"), file + ":3: column 'target'"));
  CHECK(contains(error("source,target\n1,\xA0"
                       "2\n"),
                 file + ":2:3: byte 0xA0 is not UTF-8"));
  CHECK(contains(error("from,to\n1,2\n"), "has no column 'source'"));
  CHECK(contains(error("member\n1\n", LayerKind::kMembership), "has no column 'city'"));
  CHECK(contains(error("city\n1\n-7\n", LayerKind::kMembership),
                 file + ":3: city id -7 in column 'city'"));
}

TEST_CASE("Edge CSV: accepted oddities give the documented layer", "[unit]") {
  TempDir dir("odd_edges");
  const CityTable cities = three_cities();
  // A header alone is an empty layer; self-loops are dropped and duplicates merged; a BOM and
  // Windows line endings change nothing.
  for (const std::string& text : {std::string("source,target\n"), std::string("source,target")}) {
    const auto n =
        citynet::net::build_network(edges_scenario(dir, text, LayerKind::kEdges), cities, kKey);
    CHECK(n.layers[0].edge_count() == 0);
  }
  const auto n = citynet::net::build_network(
      edges_scenario(dir, "\xEF\xBB\xBFsource,target\r\n1,1\r\n1,2\r\n2,1\r\n 3 , 2 \r\n",
                     LayerKind::kEdges),
      cities, kKey);
  citynet::test::check_csr_invariants(n.layers[0], 3);
  CHECK(n.layers[0].edge_count() == 4);  // 1-2 and 2-3, each stored both ways
  CHECK(n.layers[0].degree(0) == 1);
  CHECK(n.layers[0].degree(1) == 2);
}

TEST_CASE("check_utf8_text accepts UTF-8 and names the first bad byte", "[unit]") {
  using citynet::io::check_utf8_text;
  CHECK_FALSE(check_utf8_text(""));
  CHECK_FALSE(check_utf8_text("plain\ttext\r\nline two\n"));
  CHECK_FALSE(check_utf8_text("\xEF\xBB\xBF\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\xB2\xF4\x8F\xBF\xBF"));
  const auto bad = check_utf8_text("ok\nstill ok\nthen \x80 here");
  REQUIRE(bad);
  CHECK(bad->line == 3);
  CHECK(bad->column == 6);
  CHECK(check_utf8_text("\xC3"));              // cut short
  CHECK(check_utf8_text("\xC3\x28"));          // bad continuation
  CHECK(check_utf8_text("\xE0\x80\xAF"));      // overlong
  CHECK(check_utf8_text("\xF5\x80\x80\x80"));  // beyond U+10FFFF
  CHECK(check_utf8_text("\x7F"));
}
