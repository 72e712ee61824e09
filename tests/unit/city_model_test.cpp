#include <tbb/global_control.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "app/run.hpp"
#include "model/city_model.hpp"
#include "net/edit.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "scenario/loader.hpp"
#include "support/process.hpp"

using namespace citynet;
using model::CityModel;

namespace {

// A small synthetic world for the city rule; tests adjust it with overrides.
scenario::Scenario synthetic(std::vector<std::string> sets = {}) {
  const char* yaml = R"(name: city_unit
seed: 11
time: {steps: 60, dt: 0.0833333333333333, unit: year, start: 2000}
cities: {source: synthetic, count: 600, countries: 6}
layers:
  - {name: random, kind: erdos_renyi, mean_degree: 6}
  - {name: sister, kind: erdos_renyi, mean_degree: 2, dynamic: true, trade: true}
  - {name: near, kind: geographic, radius_km: 800, decay_km: 300, influence: 0.5}
  - {name: informal, kind: informal}
solutions:
  - {name: a, random_seeds: 5, lag: 0.25, payoff: 1.5, cost: 0.2}
  - {name: b, random_seeds: 2, lag: 1, payoff: 0.5, cost: 0.6}
rule: {kind: city}
city: {imitation: 1.0}
)";
  return scenario::load_scenario_text(yaml, "city_unit.yaml", "", sets);
}

// Four hand-made cities: two observers (0 and 2), each tied to one peer (1 and 3). Peer 1 has
// the context of observer 0; peer 3 is far from observer 2 in size, climate and income.
model::CityTable four_cities() {
  model::CityTable t;
  t.id = {0, 1, 2, 3};
  t.name = {"obs_near", "peer_near", "obs_far", "peer_far"};
  t.country = {"AA", "AA", "AA", "BB"};
  t.latitude = {45, 45, 45, 0};
  t.longitude = {0, 1, 10, 11};
  t.population = {1e6, 1e6, 1e6, 3e7};
  return t;
}

net::Network pairs(const model::CityTable& cities) {
  net::Network net;
  net.cities = cities.size();
  net.layers.push_back(net::build_csr(cities.size(), {{0, 1, 1.0f}, {2, 3, 1.0f}}));
  net.layers[0].name = "pairs";
  return net;
}

scenario::Scenario learning_scenario() {
  const char* yaml = R"(name: learning
time: {steps: 10, dt: 0.0833333333333333, unit: year}
cities: {source: synthetic, count: 4}
layers: [{name: pairs, kind: erdos_renyi, mean_degree: 0}]
solutions:
  - name: s
    seeds: [{id: 1, at: 0}, {id: 3, at: 0}]
    lag: 0
    payoff: 2.0
    ideal_size: 0.4
    ideal_climate: 0.75
    ideal_income: 0.0
    context_tolerance: 5
rule: {kind: city}
city: {innovation: 0, imitation: 0, drop_base: 0, shock_rate: 0, drop_poor: 0, drop_peer: 0,
       adapt_probability: 0, readapt_rate: 0, prior_mean: 0, prior_precision: 1,
       context_bandwidth: 0.3}
ties: {activity: 1000}
national: {enabled: false}
)";
  return scenario::load_scenario_text(yaml, "learning.yaml", "", {});
}

}  // namespace

TEST_CASE("City rule: a city with no ties and zero innovation never adopts", "[unit]") {
  auto sc = synthetic({"city.innovation=0", "national.enabled=false", "time.steps=240"});
  const CityId lonely = 7;
  app::RunOptions opt;
  opt.keep_events = true;
  opt.edit_network = [&](const model::CityTable&, net::Network& net) {
    for (auto& l : net.layers) net::remove_city_ties(l, lonely);
  };
  opt.edit_model = [&](model::Model& m) { dynamic_cast<CityModel&>(m).isolate(lonely); };
  const auto r = app::run_scenario(sc, opt);
  int others = 0;
  for (const auto& e : r.events) {
    if (e.kind != model::EventKind::kAdopt) continue;
    CHECK(e.city != lonely);
    ++others;
  }
  CHECK(others > 20);  // the rest of the world does adopt
}

TEST_CASE("City rule: removing the C40 layer changes only what came through it in the first step",
          "[unit]") {
  auto sc = scenario::load_scenario_file(testing::source_path("scenarios/world.yaml"),
                                         {"time.steps=1", "city.imitation=5"});
  std::vector<std::uint8_t> member;
  auto run = [&](bool without_c40) {
    app::RunOptions opt;
    opt.keep_events = true;
    opt.edit_network = [&](const model::CityTable& cities, net::Network& net) {
      const auto& c40 = net.layers[0];
      member.assign(static_cast<std::size_t>(cities.size()), 0);
      for (CityId c = 0; c < cities.size(); ++c) member[c] = c40.degree(c) > 0;
      if (without_c40) net::clear_layer(net.layers[0], cities.size());
    };
    return app::run_scenario(sc, opt);
  };
  const auto with = run(false);
  const auto without = run(true);
  auto outside = [&](const app::RunResult& r) {
    std::vector<std::tuple<int, int, int, int, int>> rows;
    for (const auto& e : r.events)
      if (!member[e.city] && e.step == 1)
        rows.emplace_back(e.city, e.solution, static_cast<int>(e.kind), e.source, e.layer);
    return rows;
  };
  CHECK(outside(with) == outside(without));
  for (const auto& e : without.events) CHECK(e.layer != 0);
}

TEST_CASE("City rule: an unused sister tie falls below 0.13 of its weight within 3 years",
          "[unit]") {
  // ties.decay 0.7 per year: exp(-0.7 * 3) = 0.122.
  auto sc = synthetic({"ties.activity=0", "time.steps=36"});
  const auto key = rng::run_key(sc.seed, 0);
  const auto cities = model::load_cities(sc, key);
  const auto net = net::build_network(sc, cities, key);
  CityModel m(sc, cities, net, key);
  m.initialise();
  for (int k = 0; k < 36; ++k) m.step();
  const auto& sister = net.layers[1];
  REQUIRE(sister.edge_count() > 100);
  for (std::int64_t k = 0; k < sister.edge_count(); ++k) {
    CHECK(m.tie_weight(1, k) < 0.13f);
    CHECK(m.tie_weight(1, k) > 0.11f);
  }
  // Static layers keep their weights.
  CHECK(m.tie_weight(0, 0) == net.layers[0].weights[0]);
}

TEST_CASE("City rule: used ties keep their weight and trade grows on them", "[unit]") {
  auto sc = synthetic({"ties.activity=1000", "time.steps=60"});
  const auto key = rng::run_key(sc.seed, 0);
  const auto cities = model::load_cities(sc, key);
  const auto net = net::build_network(sc, cities, key);
  CityModel m(sc, cities, net, key);
  m.initialise();
  for (int k = 0; k < 60; ++k) m.step();
  for (std::int64_t k = 0; k < net.layers[1].edge_count(); ++k) {
    CHECK(m.tie_weight(1, k) > 0.99f);
    CHECK(m.trade(1, k) > 5.0);
  }
  for (CityId c = 0; c < cities.size(); ++c)
    if (net.layers[1].degree(c) > 0) CHECK(m.gdp_index(c) > 1.0);
}

TEST_CASE(
    "City rule: a national mandate makes every city of the country adopt within the "
    "compliance lag",
    "[unit]") {
  auto sc = synthetic({"national.form=mandate", "national.pressure_threshold=0.02",
                       "national.legislative_lag=0.5", "national.compliance_lag=1",
                       "time.steps=120", "city.imitation=0.2"});
  const auto key = rng::run_key(sc.seed, 0);
  const auto cities = model::load_cities(sc, key);
  const auto net = net::build_network(sc, cities, key);
  CityModel m(sc, cities, net, key);
  m.initialise();
  for (int k = 0; k < 120; ++k) m.step();
  const auto& national = m.national_events();
  REQUIRE(!national.empty());
  const Step compliance = 12;  // one year of monthly steps
  for (const auto& ev : national) {
    if (ev.step + compliance + 1 > m.current_step()) continue;
    for (CityId c = 0; c < cities.size(); ++c) {
      if (m.attributes().country[c] != ev.country) continue;
      INFO("country " << ev.country << " solution " << ev.solution << " city " << c);
      CHECK(m.status(c, ev.solution) == CityModel::kAdopted);
    }
  }
}

TEST_CASE("City rule: every variant's parent exists and precedes it", "[unit]") {
  const auto sc = synthetic({"time.steps=120", "city.adapt_probability=0.8"});
  const auto key = rng::run_key(sc.seed, 0);
  const auto cities = model::load_cities(sc, key);
  const auto net = net::build_network(sc, cities, key);
  CityModel m(sc, cities, net, key);
  m.initialise();
  for (int k = 0; k < 120; ++k) m.step();
  const auto variants = m.variants();
  REQUIRE(variants.size() > 20);
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const auto& v = variants[i];
    CHECK(v.id == static_cast<std::int32_t>(i));
    if (v.parent < 0) {
      CHECK(v.id < static_cast<std::int32_t>(sc.solutions.size()));
      continue;
    }
    REQUIRE(v.parent < v.id);
    const auto& p = variants[static_cast<std::size_t>(v.parent)];
    CHECK(p.solution == v.solution);
    CHECK(p.step <= v.step);
    CHECK(v.completeness > 0.0f);
    CHECK(v.completeness <= 1.0f);
  }
}

TEST_CASE("City rule: signals from a peer of the same context move beliefs more", "[unit]") {
  const auto sc = learning_scenario();
  const auto cities = four_cities();
  const auto net = pairs(cities);
  CityModel m(sc, cities, net, 5);
  m.initialise();
  m.step();
  m.step();
  const double near_shift = std::abs(m.belief_mean(0, 0) - 0.0);
  const double far_shift = std::abs(m.belief_mean(2, 0) - 0.0);
  CHECK(near_shift > 0.5);
  CHECK(near_shift > 3 * far_shift);
  CHECK(m.belief_precision(0, 0) > 3 * m.belief_precision(2, 0));
}

TEST_CASE("City rule: beliefs converge to the true payoff with enough observations", "[unit]") {
  const auto sc = learning_scenario();
  const auto cities = four_cities();
  const auto net = pairs(cities);
  CityModel m(sc, cities, net, 9);
  m.initialise();
  for (int k = 0; k < 600; ++k) m.step();
  // Observer 0 shares peer 1's context: the peer's payoff is its own.
  const double truth = m.expected_payoff(1, 0, 0);
  CHECK(truth == Approx(m.expected_payoff(0, 0, 0)));
  CHECK(m.belief_mean(0, 0) == Approx(truth).margin(0.05));
}

TEST_CASE("City rule: identical results with 1, 2 and 8 threads", "[unit]") {
  const auto sc = synthetic({"time.steps=96"});
  std::vector<app::RunResult> runs;
  for (int t : {1, 2, 8}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                              static_cast<std::size_t>(t));
    app::RunOptions opt;
    opt.keep_events = true;
    runs.push_back(app::run_scenario(sc, opt));
  }
  for (std::size_t i = 1; i < runs.size(); ++i) {
    CHECK(runs[i].adopters == runs[0].adopters);
    REQUIRE(runs[i].events.size() == runs[0].events.size());
    for (std::size_t k = 0; k < runs[0].events.size(); ++k) {
      CHECK(runs[i].events[k].city == runs[0].events[k].city);
      CHECK(runs[i].events[k].source == runs[0].events[k].source);
      CHECK(runs[i].events[k].variant == runs[0].events[k].variant);
    }
  }
  CHECK(runs[0].event_count > 40);
}
