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
  scenario::SolutionSpec x;
  x.name.assign(1, 'x');  // operator=(const char*) trips GCC 12's -Wrestrict here
  s.solutions.push_back(std::move(x));
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

TEST_CASE("Seeds after the start adopt at their step and an unknown seed city is an input error",
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

namespace {

// Runs the same threshold scenario on the bit-sliced and the general kernel and requires the same
// events, step by step, and the same adoption steps at the end.
void require_kernels_agree(const scenario::Scenario& s, const net::Network& net, int steps) {
  const auto cities = model::load_cities(s, 9);
  model::Engine fast(s, cities, net, 9);
  model::Engine general(s, cities, net, 9, model::Engine::Kernel::kGeneral);
  REQUIRE(fast.bitsliced());
  REQUIRE_FALSE(general.bitsliced());
  auto same = [](const std::vector<model::Event>& a, const std::vector<model::Event>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].city == b[i].city);
      CHECK(a[i].solution == b[i].solution);
      CHECK(a[i].kind == b[i].kind);
      CHECK(a[i].source == b[i].source);
      CHECK(a[i].layer == b[i].layer);
    }
  };
  same(fast.initialise(), general.initialise());
  std::size_t events = 0;
  for (int k = 0; k < steps; ++k) {
    const auto& a = fast.step();
    events += a.size();
    same(a, general.step());
  }
  CHECK(events > 0);
  for (CityId c = 0; c < cities.size(); ++c)
    for (SolutionId x = 0; x < static_cast<SolutionId>(s.solutions.size()); ++x)
      REQUIRE(fast.adopted_step(c, x) == general.adopted_step(c, x));
}

scenario::Scenario threshold_scenario(CityId n, scenario::RuleKind kind, int solutions,
                                      std::int64_t seeds = 3) {
  auto s = make_scenario(n, kind);
  s.solutions.resize(static_cast<std::size_t>(solutions));
  for (int x = 0; x < solutions; ++x) {
    s.solutions[x].name = std::to_string(x);
    s.solutions[x].random_seeds = seeds + x % 5;
  }
  return s;
}

}  // namespace

TEST_CASE("The bit-sliced fractional threshold matches the general kernel", "[unit]") {
  const CityId n = 2000;
  net::Network net;
  net.cities = n;
  // Degrees up to the hundreds take the kernel past its unrolled plane counts.
  net.layers.push_back(net::barabasi_albert(n, 3, 5, 0));
  net.layers[0].name = "hubs";
  net.layers[0].influence = 0.3f;  // the share is weighted by it and divided by it again
  for (int solutions : {1, 3, 8, 9, 16, 17, 33, 64}) {
    for (auto dist :
         {scenario::ThresholdDistribution::kFixed, scenario::ThresholdDistribution::kUniform,
          scenario::ThresholdDistribution::kNormal}) {
      INFO("solutions " << solutions << ", distribution " << static_cast<int>(dist));
      auto s = threshold_scenario(n, scenario::RuleKind::kFractionalThreshold, solutions);
      s.rule.threshold_distribution = dist;
      s.rule.threshold_mean = 0.25;  // k / degree hits it exactly at degrees divisible by 4
      s.rule.threshold_sd = 0.1;
      s.rule.threshold_min = 0.05;
      s.rule.threshold_max = 0.4;
      require_kernels_agree(s, net, 12);
    }
  }
}

TEST_CASE("The bit-sliced count threshold matches the general kernel over several layers",
          "[unit]") {
  const CityId n = 3000;
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::erdos_renyi(n, 4.0, 5, 0));
  net.layers.push_back(net::watts_strogatz(n, 4.0, 0.1, 5, 1));
  net.layers[0].name = "random";
  net.layers[1].name = "ring";
  for (int solutions : {1, 5, 12, 40}) {
    for (int k : {1, 2, 3}) {
      INFO("solutions " << solutions << ", k " << k);
      auto s = threshold_scenario(n, scenario::RuleKind::kCountThreshold, solutions, 300);
      s.rule.count_k = k;
      require_kernels_agree(s, net, 10);
    }
  }
}

TEST_CASE("Weighted ties, complete layers and over 64 solutions take the general kernel",
          "[unit]") {
  const CityId n = 200;
  auto s = threshold_scenario(n, scenario::RuleKind::kFractionalThreshold, 2);
  const auto cities = model::load_cities(s, 1);
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::erdos_renyi(n, 4.0, 5, 0));
  CHECK(model::Engine(s, cities, net, 1).bitsliced());
  net.layers[0].weights[0] = 0.5f;
  CHECK_FALSE(model::Engine(s, cities, net, 1).bitsliced());
  net.layers[0] = net::complete_layer(n);
  CHECK_FALSE(model::Engine(s, cities, net, 1).bitsliced());
  net.layers[0] = net::erdos_renyi(n, 4.0, 5, 0);
  auto many = threshold_scenario(n, scenario::RuleKind::kFractionalThreshold, 65);
  CHECK_FALSE(model::Engine(many, model::load_cities(many, 1), net, 1).bitsliced());
}

TEST_CASE(
    "One solution: a hub past a run's ties, two layers and a cascade through most cities "
    "match the general kernel",
    "[unit]") {
  // The one-solution kernel counts runs of cities in one loop over their ties, a hub with more
  // ties than a run holds on its own, and runs where most cities adopted city by city.
  const CityId n = 20000;
  std::vector<net::Edge> ring, hub;
  for (CityId i = 0; i < n; ++i) {
    ring.push_back({i, (i + 1) % n, 1.0f});
    ring.push_back({i, (i + 7) % n, 1.0f});
  }
  for (CityId i = 1; i <= 9000; ++i) hub.push_back({0, i * 2, 1.0f});
  for (CityId i = 1; i <= 4000; ++i) hub.push_back({n - 1, i * 3, 1.0f});
  net::Network two;
  two.cities = n;
  two.layers.push_back(net::build_csr(n, ring));
  two.layers.push_back(net::build_csr(n, hub));
  two.layers[0].name = "ring";
  two.layers[1].name = "hubs";
  REQUIRE(two.layers[1].degree(0) > 8192);
  net::Network one;
  one.cities = n;
  auto all = ring;
  all.insert(all.end(), hub.begin(), hub.end());
  one.layers.push_back(net::build_csr(n, all));
  one.layers[0].name = "all";

  for (auto dist :
       {scenario::ThresholdDistribution::kFixed, scenario::ThresholdDistribution::kUniform}) {
    INFO("distribution " << static_cast<int>(dist));
    auto s = threshold_scenario(n, scenario::RuleKind::kFractionalThreshold, 1, 40);
    s.rule.threshold_distribution = dist;
    s.rule.threshold_mean = 0.25;
    s.rule.threshold_min = 0.1;
    s.rule.threshold_max = 0.3;
    require_kernels_agree(s, one, 30);
  }
  for (int k : {1, 2}) {
    INFO("count threshold " << k);
    auto s = threshold_scenario(n, scenario::RuleKind::kCountThreshold, 1, 40);
    s.rule.count_k = k;
    require_kernels_agree(s, two, 30);
  }
}

TEST_CASE("A fixed threshold is held once and decides as one held by every city", "[unit]") {
  // The general kernel reads each city's threshold; uniform over [t, t] gives every city t too.
  const CityId n = 3000;
  const int solutions = 3;
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::erdos_renyi(n, 6.0, 5, 0));
  net.layers[0].name = "random";
  auto fixed = threshold_scenario(n, scenario::RuleKind::kFractionalThreshold, solutions, 20);
  fixed.rule.threshold_distribution = scenario::ThresholdDistribution::kFixed;
  fixed.rule.threshold_mean = 0.2;
  auto spread = fixed;
  spread.rule.threshold_distribution = scenario::ThresholdDistribution::kUniform;
  spread.rule.threshold_min = spread.rule.threshold_max = 0.2;
  const auto cities = model::load_cities(fixed, 4);
  model::Engine one(fixed, cities, net, 4, model::Engine::Kernel::kGeneral);
  model::Engine each(spread, cities, net, 4, model::Engine::Kernel::kGeneral);
  CHECK(each.state_bytes() - one.state_bytes() >=
        static_cast<std::int64_t>(sizeof(float)) * n * solutions - 64);
  REQUIRE(one.initialise().size() == each.initialise().size());
  std::size_t events = 0;
  for (int k = 0; k < 15; ++k) {
    const auto& a = one.step();
    const auto& b = each.step();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].city == b[i].city);
      CHECK(a[i].solution == b[i].solution);
    }
    events += a.size();
  }
  CHECK(events > 100);
}

TEST_CASE("The engine's state stays within 64 bytes per city and solution", "[unit]") {
  // Issue-level budget for memory: whatever the rule and solution count, and counted from the
  // capacity actually held.
  const CityId n = 5000;
  net::Network net;
  net.cities = n;
  net.layers.push_back(net::erdos_renyi(n, 10.0, 5, 0));
  for (auto kind : {scenario::RuleKind::kBass, scenario::RuleKind::kFractionalThreshold,
                    scenario::RuleKind::kCountThreshold, scenario::RuleKind::kIndependentCascade})
    for (int solutions : {1, 8, 64, 100}) {
      auto s = threshold_scenario(n, kind, solutions);
      s.rule.threshold_distribution = scenario::ThresholdDistribution::kUniform;
      const auto cities = model::load_cities(s, 1);
      model::Engine e(s, cities, net, 1);
      const double per_slot =
          static_cast<double>(e.state_bytes()) / (static_cast<double>(n) * solutions);
      INFO("rule " << static_cast<int>(kind) << ", solutions " << solutions);
      CHECK(per_slot > 0.0);
      CHECK(per_slot <= 64.0);
    }
  // Ties: CSR offsets, targets and weights.
  CHECK(static_cast<double>(net.layers[0].bytes()) /
            static_cast<double>(net.layers[0].edge_count()) <=
        16.0);
}
