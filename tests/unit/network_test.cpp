#include <tbb/task_arena.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <utility>

#include "model/cities.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "unit/net_checks.hpp"

using citynet::CityId;
using citynet::InputError;
using citynet::Location;
using citynet::model::CityTable;
using citynet::net::build_csr;
using citynet::net::build_network;
using citynet::net::Edge;
using citynet::net::haversine_km;
using citynet::net::Layer;
using citynet::net::Network;
using citynet::scenario::CitySource;
using citynet::scenario::LayerKind;
using citynet::scenario::LayerSpec;
using citynet::scenario::Scenario;
using citynet::test::check_csr_invariants;
using citynet::test::has_tie;
using citynet::test::TempDir;

namespace {

const std::uint64_t kKey = citynet::rng::run_key(11, 0);

Scenario world() {
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = std::string(CITYNET_SOURCE_DIR) + "/scenarios";
  s.cities.source = CitySource::kCsv;
  s.cities.file = "data/world_cities.csv";
  return s;
}

LayerSpec sister_layer() {
  LayerSpec l;
  l.name = "sister";
  l.kind = LayerKind::kEdges;
  l.file = "data/sister_cities.csv";
  l.source_column = "city_a_id";
  l.target_column = "city_b_id";
  return l;
}

// Five cities with external ids 10, 20, ... 50.
CityTable five_cities() {
  CityTable t;
  for (int i = 0; i < 5; ++i) {
    t.id.push_back(10 * (i + 1));
    t.name.push_back(std::string("c").append(std::to_string(i)));
    t.country.push_back("AA");
    t.latitude.push_back(i);
    t.longitude.push_back(i);
    t.population.push_back(1000);
  }
  return t;
}

InputError network_error(const Scenario& s, const CityTable& cities) {
  try {
    build_network(s, cities, kKey);
  } catch (const InputError& e) {
    return e;
  }
  FAIL("no InputError was thrown");
  throw;
}

bool any_message(const InputError& e, const std::string& text) {
  for (const auto& d : e.diagnostics())
    if (d.format().find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("build_csr symmetrises, drops self-loops and keeps the largest duplicate", "[unit]") {
  std::vector<Edge> edges{{0, 1, 0.5f},  {1, 0, 2.0f}, {2, 2, 1.0f}, {3, 1, 1.0f},
                          {1, 3, 0.25f}, {0, 3, 1.5f}, {0, 1, 0.75f}};
  const Layer l = build_csr(5, edges);
  check_csr_invariants(l, 5);
  CHECK(l.offsets == std::vector<std::int64_t>{0, 2, 4, 4, 6, 6});
  CHECK(l.targets == std::vector<CityId>{1, 3, 0, 3, 0, 1});
  CHECK(l.weights == std::vector<float>{2.0f, 1.5f, 2.0f, 1.0f, 1.5f, 1.0f});
  CHECK(l.degree(2) == 0);
  CHECK(l.degree(4) == 0);
}

TEST_CASE("build_csr on random multigraphs keeps the CSR invariants", "[unit]") {
  citynet::rng::Stream rng(kKey, 0, 0, citynet::rng::Purpose::kNetwork);
  const CityId n = 300;
  std::vector<Edge> edges;
  std::map<std::pair<CityId, CityId>, float> expected;
  for (int k = 0; k < 5000; ++k) {
    const auto a = static_cast<CityId>(rng.below(n));
    const auto b = static_cast<CityId>(rng.below(n));
    const auto w = static_cast<float>(rng.below(4));
    edges.push_back({a, b, w});
    if (a == b) continue;
    auto& slot = expected[{std::min(a, b), std::max(a, b)}];
    slot = std::max(slot, w);
  }
  const Layer l = build_csr(n, edges);
  check_csr_invariants(l, n);
  CHECK(l.edge_count() == 2 * static_cast<std::int64_t>(expected.size()));
  bool weights_ok = true;
  for (const auto& [pair, w] : expected) {
    const auto first = l.targets.begin() + l.offsets[pair.first];
    const auto it =
        std::lower_bound(first, l.targets.begin() + l.offsets[pair.first + 1], pair.second);
    weights_ok = weights_ok && l.weights[it - l.targets.begin()] == w;
  }
  CHECK(weights_ok);
}

TEST_CASE("build_csr gives the same layer with its sequential and parallel fill", "[unit]") {
  citynet::rng::Stream rng(kKey, 0, 1, citynet::rng::Purpose::kNetwork);
  const CityId n = 20000;
  std::vector<Edge> edges;
  for (int k = 0; k < 400000; ++k)
    edges.push_back({static_cast<CityId>(rng.below(n)), static_cast<CityId>(rng.below(n)),
                     static_cast<float>(rng.below(8))});
  Layer one, four;
  tbb::task_arena(1).execute([&] { one = build_csr(n, edges); });
  tbb::task_arena(4).execute([&] { four = build_csr(n, edges); });
  check_csr_invariants(four, n);
  CHECK(one.offsets == four.offsets);
  CHECK(one.targets == four.targets);
  CHECK(one.weights == four.weights);
}

TEST_CASE("build_csr rejects endpoints outside the city range", "[unit]") {
  CHECK_THROWS(build_csr(3, {{0, 3, 1.0f}}));
  CHECK_THROWS(build_csr(3, {{-1, 2, 1.0f}}));
  const Layer empty = build_csr(0, {});
  CHECK(empty.offsets == std::vector<std::int64_t>{0});
}

TEST_CASE("haversine_km matches known distances", "[unit]") {
  CHECK(haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == Approx(343.5).margin(1.0));
  CHECK(haversine_km(0, 0, 0, 180) == Approx(std::numbers::pi * citynet::net::kEarthRadiusKm));
  CHECK(haversine_km(90, 0, 90, 123) == Approx(0.0).margin(1e-9));
  CHECK(haversine_km(0, 179.5, 0, -179.5) == Approx(111.2).margin(0.1));
}

TEST_CASE("The real sister-city pairs form 4,359 undirected ties", "[unit]") {
  Scenario s = world();
  s.layers = {sister_layer()};
  const CityTable cities = citynet::model::load_cities(s, kKey);
  const Network net = build_network(s, cities, kKey);
  REQUIRE(net.layers.size() == 1);
  const Layer& l = net.layers[0];
  CHECK(l.name == "sister");
  CHECK(l.kind == LayerKind::kEdges);
  CHECK(l.edge_count() == 8718);
  check_csr_invariants(l, cities.size());
  CHECK(net.find("sister") == 0);
  CHECK(net.find("c40") == -1);
}

TEST_CASE("The world scenario's layers build in order", "[unit]") {
  Scenario s = world();
  s.cities.min_population = 100000;
  LayerSpec c40;
  c40.name = "c40";
  c40.kind = LayerKind::kMembership;
  c40.file = "data/c40_members.csv";
  c40.city_column = "geonameid";
  c40.skip_unknown_cities = true;  // one member has no id
  LayerSpec geo;
  geo.name = "geographic";
  geo.kind = LayerKind::kGeographic;
  geo.radius_km = 300;
  geo.decay_km = 150;
  geo.influence = 0.5;
  LayerSpec all;
  all.name = "everyone";
  all.kind = LayerKind::kComplete;
  s.layers = {c40, sister_layer(), geo, all};
  const CityTable cities = citynet::model::load_cities(s, kKey);
  const Network net = build_network(s, cities, kKey);
  REQUIRE(net.layers.size() == 4);
  CHECK(net.cities == cities.size());
  CHECK(net.layers[0].edge_count() == 96 * 95);  // a clique of the 96 members with an id
  check_csr_invariants(net.layers[0], cities.size());
  CHECK(net.layers[1].edge_count() == 8718);
  CHECK(net.layers[2].influence == 0.5f);
  CHECK(net.layers[2].edge_count() > 0);
  check_csr_invariants(net.layers[2], cities.size());
  CHECK(net.layers[3].complete);
  CHECK(net.layers[3].targets.empty());
  CHECK(net.find("geographic") == 2);
}

TEST_CASE("Ids of cities not loaded are errors unless skip_unknown_cities", "[unit]") {
  Scenario s = world();
  s.cities.max_cities = 100;
  s.layers = {sister_layer()};
  s.locations["layers[0].skip_unknown_cities"] = Location{"test.yaml", 30, 5};
  const CityTable cities = citynet::model::load_cities(s, kKey);
  REQUIRE(cities.size() == 100);

  const InputError e = network_error(s, cities);
  CHECK(any_message(e,
                    "sister_cities.csv:2: city id 53654 in column 'city_a_id' is not among "
                    "the loaded cities"));
  CHECK(any_message(e, "more row problems"));
  const auto& hint = e.diagnostics().back();
  CHECK(hint.key == "layers[0].skip_unknown_cities");
  CHECK(hint.where.line == 30);

  s.layers[0].skip_unknown_cities = true;
  const Network net = build_network(s, cities, kKey);
  const Layer& l = net.layers[0];
  check_csr_invariants(l, 100);
  CHECK(l.edge_count() > 0);
  CHECK(l.edge_count() < 8718);
}

TEST_CASE("Edge files: weights, self-loops, duplicates and empty ids", "[unit]") {
  TempDir dir("edges");
  dir.write("ties.csv",
            "from,to,strength\n"
            "10,20,0.5\n"
            "20,10,2\n"
            "30,30,1\n"
            "40,,1\n"
            "50,10,3\n");
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = dir.path();
  LayerSpec l;
  l.name = "ties";
  l.kind = LayerKind::kEdges;
  l.file = "ties.csv";
  l.source_column = "from";
  l.target_column = "to";
  l.weight_column = "strength";
  s.layers = {l};
  const CityTable cities = five_cities();

  // The empty id counts as an unknown city.
  const InputError e = network_error(s, cities);
  CHECK(any_message(e, "ties.csv:5: column 'to' is empty"));

  s.layers[0].skip_unknown_cities = true;
  const Layer layer = build_network(s, cities, kKey).layers[0];
  check_csr_invariants(layer, 5);
  CHECK(layer.edge_count() == 4);  // 10-20 (merged) and 50-10; 30-30 dropped
  CHECK(layer.targets[0] == 1);
  CHECK(layer.weights[0] == 2.0f);
  CHECK(has_tie(layer, 4, 0));
  CHECK(layer.degree(2) == 0);
}

TEST_CASE("Edge files: bad weights and ids are all reported", "[unit]") {
  TempDir dir("edges_bad");
  dir.write("ties.csv",
            "from,to,strength\n"
            "10,20,heavy\n"
            "10,x,1\n"
            "10,20,-1\n"
            "10,99,1\n");
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = dir.path();
  LayerSpec l;
  l.name = "ties";
  l.kind = LayerKind::kEdges;
  l.file = "ties.csv";
  l.source_column = "from";
  l.target_column = "to";
  l.weight_column = "strength";
  s.layers = {l};
  const InputError e = network_error(s, five_cities());
  CHECK(any_message(e, "ties.csv:2: column 'strength': 'heavy' is not a number"));
  CHECK(any_message(e, "ties.csv:3: column 'to': 'x' is not a city id"));
  CHECK(any_message(e, "ties.csv:4: column 'strength': '-1' is not a tie weight"));
  CHECK(any_message(e, "ties.csv:5: city id 99 in column 'to' is not among the loaded cities"));
}

TEST_CASE("A missing layer column is reported at its scenario key", "[unit]") {
  Scenario s = world();
  LayerSpec l = sister_layer();
  l.source_column = "city_aid";
  s.layers = {l};
  s.locations["layers[0].source_column"] = Location{"test.yaml", 21, 20};
  const CityTable cities = citynet::model::load_cities(s, kKey);
  const InputError e = network_error(s, cities);
  REQUIRE(e.diagnostics().size() == 1);
  const auto& d = e.diagnostics()[0];
  CHECK(d.key == "layers[0].source_column");
  CHECK(d.where.line == 21);
  CHECK(d.message.find("sister_cities.csv") != std::string::npos);
  CHECK(d.message.find("did you mean 'city_a_id'?") != std::string::npos);
}

TEST_CASE("A missing layer file is reported at layers[i].file", "[unit]") {
  Scenario s = world();
  LayerSpec l = sister_layer();
  l.file = "data/nope.csv";
  s.layers = {l};
  const InputError e = network_error(s, five_cities());
  CHECK(e.diagnostics()[0].key == "layers[0].file");
}

TEST_CASE("A membership file forms one club of its distinct members", "[unit]") {
  TempDir dir("club");
  dir.write("club.csv", "city,joined\n10,2001\n30,2002\n30,2003\n50,2004\n77,2005\n");
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = dir.path();
  LayerSpec l;
  l.name = "club";
  l.kind = LayerKind::kMembership;
  l.file = "club.csv";
  s.layers = {l};
  CHECK_THROWS_AS(build_network(s, five_cities(), kKey), InputError);  // 77 is not loaded
  s.layers[0].skip_unknown_cities = true;
  const Layer layer = build_network(s, five_cities(), kKey).layers[0];
  check_csr_invariants(layer, 5);
  CHECK(layer.edge_count() == 6);
  CHECK(has_tie(layer, 0, 2));
  CHECK(has_tie(layer, 0, 4));
  CHECK(has_tie(layer, 2, 4));
  CHECK(layer.degree(1) == 0);
}

TEST_CASE("Layer names must be distinct and parameters valid", "[unit]") {
  Scenario s;
  s.source_file = "test.yaml";
  LayerSpec a;
  a.name = "x";
  a.kind = LayerKind::kRingLattice;
  s.layers = {a, a};
  CHECK_THROWS_AS(build_network(s, five_cities(), kKey), InputError);
  LayerSpec geo;
  geo.name = "geo";
  geo.kind = LayerKind::kGeographic;
  geo.decay_km = 0;
  s.layers = {geo};
  CHECK_THROWS_AS(build_network(s, five_cities(), kKey), InputError);
}
