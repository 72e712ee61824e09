#include <catch2/catch.hpp>
#include <string>

#include "model/engine.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"

using namespace citynet;

namespace {

// A scenario built in code: n synthetic cities, one solution, the given layers and rule.
scenario::Scenario make_scenario(CityId n, scenario::RuleKind kind) {
  scenario::Scenario s;
  s.name = "unit";
  s.cities.source = scenario::CitySource::kSynthetic;
  s.cities.count = n;
  s.time.steps = 10;
  s.time.dt = 1.0;
  s.rule.kind = kind;
  s.solutions.push_back({});
  s.solutions[0].name = "x";
  return s;
}

net::Network path_network(CityId n) {
  std::vector<net::Edge> edges;
  for (CityId i = 0; i + 1 < n; ++i) edges.push_back({i, i + 1, 1.0f});
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::build_csr(n, edges));
  net.layers[0].name = "path";
  return net;
}

scenario::SeedSpec seed_id(std::int64_t id, double at) {
  scenario::SeedSpec s;
  s.id = id;
  s.at = at;
  return s;
}

}  // namespace

TEST_CASE("step_of_time maps model time to the first state at or after it", "[unit]") {
  CHECK(model::step_of_time(1974, 2000, 1.0 / 12) == 0);
  CHECK(model::step_of_time(2000, 2000, 1.0 / 12) == 0);
  CHECK(model::step_of_time(2001, 2000, 1.0 / 12) == 12);
  CHECK(model::step_of_time(2.05, 0, 0.1) == 21);
}

TEST_CASE("Count threshold 1 on a path spreads one city per step each way", "[unit]") {
  auto s = make_scenario(11, scenario::RuleKind::kCountThreshold);
  s.rule.count_k = 1;
  s.solutions[0].seeds.push_back(seed_id(5, 0));
  const auto cities = model::load_cities(s, 1);
  const auto net = path_network(11);
  model::Engine e(s, cities, net, 1);
  const auto& init = e.initialise();
  REQUIRE(init.size() == 1);
  CHECK(init[0].kind == model::EventKind::kSeed);
  CHECK(e.adopters()[0] == 1);
  const auto& ev = e.step();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].city == 4);
  CHECK(ev[0].source == 5);
  CHECK(ev[0].layer == 0);
  CHECK(ev[1].city == 6);
  CHECK(e.adopters()[0] == 3);
  for (int k = 0; k < 4; ++k) e.step();
  CHECK(e.adopters()[0] == 11);
  CHECK(e.adopted_step(0, 0) == 5);
}

TEST_CASE("A city with no ties and zero innovation never adopts", "[unit]") {
  auto s = make_scenario(50, scenario::RuleKind::kBass);
  s.rule.p = 0.0;
  s.rule.q = 1.0;
  s.solutions[0].seeds.push_back(seed_id(0, 0));
  const auto cities = model::load_cities(s, 1);
  // Only cities 0..9 are tied; 10..49 are isolated.
  auto net = path_network(10);
  net.layers[0].offsets.resize(51, net.layers[0].offsets.back());
  net.cities = 50;
  model::Engine e(s, cities, net, 3);
  e.initialise();
  for (int k = 0; k < 200; ++k) e.step();
  for (CityId c = 10; c < 50; ++c) CHECK_FALSE(e.adopted(c, 0));
  CHECK(e.adopters()[0] == 10);
}

TEST_CASE("Seeds after the start adopt at their step; an unknown seed city is an input error",
          "[unit]") {
  auto s = make_scenario(5, scenario::RuleKind::kCountThreshold);
  s.rule.count_k = 100;
  s.solutions[0].seeds.push_back(seed_id(2, 3.5));
  const auto cities = model::load_cities(s, 1);
  const auto net = path_network(5);
  model::Engine e(s, cities, net, 1);
  CHECK(e.initialise().empty());
  for (int k = 1; k <= 3; ++k) CHECK(e.step().empty());
  const auto& ev = e.step();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].step == 4);
  CHECK(ev[0].kind == model::EventKind::kSeed);

  s.solutions[0].seeds[0].id = 99;
  CHECK_THROWS_AS(model::Engine(s, cities, net, 1), InputError);
}

TEST_CASE("Independent cascade gives each new adopter one chance per tie", "[unit]") {
  // A star: the centre adopts, each leaf gets one chance with T = 0.5; later steps add nothing.
  const CityId n = 2001;
  auto s = make_scenario(n, scenario::RuleKind::kIndependentCascade);
  s.rule.transmission = 0.5;
  s.solutions[0].seeds.push_back(seed_id(0, 0));
  const auto cities = model::load_cities(s, 1);
  std::vector<net::Edge> edges;
  for (CityId i = 1; i < n; ++i) edges.push_back({0, i, 1.0f});
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::build_csr(n, edges));
  model::Engine e(s, cities, net, 17);
  e.initialise();
  const auto first = static_cast<double>(e.step().size());
  CHECK(first == Approx(1000).margin(100));
  for (int k = 0; k < 5; ++k) CHECK(e.step().empty());
}

TEST_CASE("Fractional threshold adopts at exactly the threshold share", "[unit]") {
  // City 1 sits between 0 and 2 on a path; with 0 adopted its share is 1/2.
  auto s = make_scenario(3, scenario::RuleKind::kFractionalThreshold);
  s.rule.threshold_mean = 0.5;
  s.solutions[0].seeds.push_back(seed_id(0, 0));
  const auto cities = model::load_cities(s, 1);
  const auto net = path_network(3);
  model::Engine e(s, cities, net, 1);
  e.initialise();
  const auto& ev = e.step();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].city == 1);
  e.step();
  CHECK(e.adopted(2, 0));  // city 2's only neighbour adopted: share 1

  s.rule.threshold_mean = 0.51;
  model::Engine f(s, cities, net, 1);
  f.initialise();
  CHECK(f.step().empty());
}
