#include <tbb/global_control.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <tuple>
#include <vector>

#include "model/cities.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "unit/net_checks.hpp"

using citynet::CityId;
using citynet::model::CityTable;
using citynet::net::Layer;
using citynet::test::check_csr_invariants;
using namespace citynet::net;

namespace {

const std::uint64_t kKey = citynet::rng::run_key(3, 0);

bool same(const Layer& a, const Layer& b) {
  return a.offsets == b.offsets && a.targets == b.targets && a.weights == b.weights;
}

std::int64_t degree_sum(const Layer& l) {
  return l.edge_count();
}

// Random points uniform on the sphere, plus crowds near both poles and across the antimeridian,
// where a latitude-longitude grid is easiest to get wrong.
CityTable scattered_points(int n) {
  citynet::rng::Stream rng(kKey, 0, 0, citynet::rng::Purpose::kSynthetic);
  CityTable t;
  for (int i = 0; i < n; ++i) {
    double lat = std::asin(2 * rng.uniform() - 1) * 180 / std::numbers::pi;
    double lon = 360 * rng.uniform() - 180;
    switch (i % 4) {
      case 1:  // within 8 degrees of a pole
        lat = (i % 8 == 1 ? 1 : -1) * (82 + 8 * rng.uniform());
        break;
      case 2:  // within 4 degrees of the antimeridian
        lon = rng.uniform() < 0.5 ? 176 + 4 * rng.uniform() : -180 + 4 * rng.uniform();
        break;
      default:
        break;
    }
    if (i == 5) lat = 90;
    if (i == 6) lat = -90;
    if (i == 7) lon = 180;
    if (i == 8) lon = -180;
    t.id.push_back(i);
    t.name.push_back("p");
    t.country.push_back("AA");
    t.latitude.push_back(lat);
    t.longitude.push_back(lon);
    t.population.push_back(1);
  }
  return t;
}

// Ties as (a, b, weight) with a < b, in (a, b) order.
using TieList = std::vector<std::tuple<CityId, CityId, float>>;

// Every pair within the radius, by brute force.
TieList brute_force(const CityTable& t, double radius, double decay) {
  TieList ties;
  for (CityId a = 0; a < t.size(); ++a)
    for (CityId b = a + 1; b < t.size(); ++b) {
      const double d = haversine_km(t.latitude[a], t.longitude[a], t.latitude[b], t.longitude[b]);
      if (d <= radius) ties.emplace_back(a, b, static_cast<float>(std::exp(-d / decay)));
    }
  return ties;
}

TieList ties_of(const Layer& l, CityId n) {
  TieList ties;
  for (CityId a = 0; a < n; ++a)
    for (auto k = l.offsets[a]; k < l.offsets[a + 1]; ++k)
      if (a < l.targets[k]) ties.emplace_back(a, l.targets[k], l.weights[k]);
  return ties;
}

}  // namespace

TEST_CASE("Erdos-Renyi has the requested mean degree and a valid CSR", "[unit]") {
  const CityId n = 20000;
  const Layer l = erdos_renyi(n, 10.0, kKey, 0);
  check_csr_invariants(l, n);
  const double mean = static_cast<double>(degree_sum(l)) / n;
  CHECK(mean == Approx(10.0).epsilon(0.02));
  // Ties are spread over all rows, not only the early ones the geometric skipping starts from.
  CHECK(static_cast<double>(l.offsets[n] - l.offsets[n / 2]) / (n / 2) ==
        Approx(10.0).epsilon(0.05));
}

TEST_CASE("Erdos-Renyi builds the CSR the general builder builds from its ties", "[unit]") {
  // The generator fills the CSR straight from its rows; build_csr from the same ties is the
  // reference it must match exactly, rows sorted and weights 1.
  const CityId n = 30000;
  const Layer l = erdos_renyi(n, 7.0, kKey, 1);
  std::vector<Edge> edges;
  for (CityId c = 0; c < n; ++c)
    for (std::int64_t k = l.offsets[c]; k < l.offsets[c + 1]; ++k)
      if (l.targets[k] > c) edges.push_back({c, l.targets[k], 1.0f});
  CHECK(static_cast<std::int64_t>(edges.size()) * 2 == l.edge_count());
  CHECK(same(l, build_csr(n, edges)));
  CHECK(erdos_renyi(1, 3.0, kKey, 0).edge_count() == 0);
  CHECK(erdos_renyi(5, 10.0, kKey, 0).edge_count() == 20);  // p capped at 1: complete
}

TEST_CASE("Erdos-Renyi is the same for any thread count and run, different per layer", "[unit]") {
  const CityId n = 50000;
  Layer one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = erdos_renyi(n, 8.0, kKey, 2);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = erdos_renyi(n, 8.0, kKey, 2);
  }
  CHECK(same(one, two));
  CHECK(same(one, erdos_renyi(n, 8.0, kKey, 2)));
  CHECK_FALSE(same(one, erdos_renyi(n, 8.0, kKey, 3)));
  CHECK_FALSE(same(one, erdos_renyi(n, 8.0, citynet::rng::run_key(4, 0), 2)));
}

TEST_CASE("Erdos-Renyi edge cases", "[unit]") {
  CHECK(erdos_renyi(0, 5.0, kKey, 0).offsets.size() == 1);
  CHECK(erdos_renyi(1, 5.0, kKey, 0).edge_count() == 0);
  CHECK(erdos_renyi(100, 0.0, kKey, 0).edge_count() == 0);
  const Layer full = erdos_renyi(30, 500.0, kKey, 0);  // p capped at 1
  CHECK(full.edge_count() == 30 * 29);
  CHECK_THROWS(erdos_renyi(10, -1.0, kKey, 0));
}

TEST_CASE("Ring lattice: k = round(mean_degree), odd k rounds down to even", "[unit]") {
  const Layer l = ring_lattice(100, 6.0);
  check_csr_invariants(l, 100);
  bool all_six = true;
  for (CityId c = 0; c < 100; ++c) all_six = all_six && l.degree(c) == 6;
  CHECK(all_six);
  CHECK(citynet::test::has_tie(l, 0, 97));
  CHECK(citynet::test::has_tie(l, 0, 3));
  CHECK_FALSE(citynet::test::has_tie(l, 0, 4));
  CHECK(ring_lattice(100, 7.4).edge_count() == 600);
  CHECK(ring_lattice(100, 7.6).edge_count() == 800);
  CHECK(ring_lattice(6, 50.0).edge_count() == 30);  // complete, n even
  CHECK(ring_lattice(7, 50.0).edge_count() == 42);  // complete, n odd
}

TEST_CASE("Watts-Strogatz with rewire 0 is the ring lattice", "[unit]") {
  CHECK(same(watts_strogatz(1000, 8.0, 0.0, kKey, 0), ring_lattice(1000, 8.0)));
}

TEST_CASE("Watts-Strogatz rewiring keeps the tie count and is deterministic", "[unit]") {
  const CityId n = 5000;
  const Layer l = watts_strogatz(n, 10.0, 0.2, kKey, 1);
  check_csr_invariants(l, n);
  CHECK(l.edge_count() == static_cast<std::int64_t>(n) * 10);
  const Layer ring = ring_lattice(n, 10.0);
  std::int64_t kept = 0;
  for (CityId c = 0; c < n; ++c)
    for (auto k = ring.offsets[c]; k < ring.offsets[c + 1]; ++k)
      kept += citynet::test::has_tie(l, c, ring.targets[k]);
  // About (1 - rewire) of the lattice ties survive.
  CHECK(static_cast<double>(kept) / ring.edge_count() == Approx(0.8).margin(0.02));
  CHECK(same(l, watts_strogatz(n, 10.0, 0.2, kKey, 1)));
  // With every tie rewired on a small graph, the loop must still terminate.
  const Layer dense = watts_strogatz(12, 10.0, 1.0, kKey, 1);
  check_csr_invariants(dense, 12);
  CHECK(dense.edge_count() == 120);
}

TEST_CASE("Barabasi-Albert: m ties per new city after a clique of m + 1", "[unit]") {
  const CityId n = 10000;
  const int m = 3;
  const Layer l = barabasi_albert(n, m, kKey, 0);
  check_csr_invariants(l, n);
  const std::int64_t clique = m * (m + 1) / 2;
  CHECK(degree_sum(l) == 2 * (static_cast<std::int64_t>(m) * (n - m - 1) + clique));
  bool min_degree = true;
  CityId hub = 0;
  for (CityId c = 0; c < n; ++c) {
    min_degree = min_degree && l.degree(c) >= m;
    if (l.degree(c) > l.degree(hub)) hub = c;
  }
  CHECK(min_degree);
  CHECK(l.degree(hub) > 50);  // preferential attachment makes hubs
  CHECK(same(l, barabasi_albert(n, m, kKey, 0)));
  CHECK(barabasi_albert(4, 10, kKey, 0).edge_count() == 12);  // fewer cities than m + 1
}

TEST_CASE("Geographic ties equal brute force, near poles and the antimeridian too", "[unit]") {
  const CityTable pts = scattered_points(3000);
  for (double radius : {0.0, 50.0, 500.0, 2500.0, 12000.0}) {
    const Layer l = geographic(pts, radius, 150.0);
    check_csr_invariants(l, pts.size());
    const auto expected = brute_force(pts, radius, 150.0);
    const auto got = ties_of(l, pts.size());
    INFO("radius " << radius);
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
  }
}

TEST_CASE("Geographic ties of the real cities are found within the radius", "[unit]") {
  citynet::scenario::Scenario s;
  s.data_dir = std::string(CITYNET_SOURCE_DIR) + "/scenarios";
  s.cities.source = citynet::scenario::CitySource::kCsv;
  s.cities.file = "data/world_cities.csv";
  const CityTable cities = citynet::model::load_cities(s, kKey);
  const Layer l = geographic(cities, 300.0, 150.0);
  check_csr_invariants(l, cities.size());
  CHECK(ties_of(l, cities.size()) == brute_force(cities, 300.0, 150.0));
}
