#include "net/network.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numbers>
#include <optional>
#include <stdexcept>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "net/loaders.hpp"

namespace citynet::net {

namespace {

// A tie as stored in a row while the CSR is assembled: target and weight sorted together.
struct Entry {
  CityId target;
  float weight;
};

// Prefix sum of per-city counts into CSR offsets (offsets[0] = 0).
std::vector<std::int64_t> offsets_from_counts(const std::vector<std::int64_t>& counts) {
  std::vector<std::int64_t> offsets(counts.size() + 1, 0);
  for (std::size_t c = 0; c < counts.size(); ++c) offsets[c + 1] = offsets[c] + counts[c];
  return offsets;
}

}  // namespace

LayerId Network::find(const std::string& name) const {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == name) return static_cast<LayerId>(i);
  return -1;
}

Layer build_csr(CityId n, std::vector<Edge> edges) {
  if (n < 0) throw std::invalid_argument("build_csr: negative number of cities");
  const auto cities = static_cast<std::size_t>(n);

  for (const Edge& e : edges)
    if (e.a < 0 || e.a >= n || e.b < 0 || e.b >= n)
      throw std::out_of_range("build_csr: tie endpoint outside [0, n)");

  // Counting sort by city: count, prefix-sum, fill, with no per-tie allocation, so ten million
  // ties cost a fraction of a second where a map would take many. With more than two threads the
  // count and the fill run in parallel with relaxed atomic increments: an atomic increment costs
  // about twice a plain one (measured), so below three threads the plain loop is as fast. The fill
  // order then varies, but every row is sorted below, so the result does not.
  const bool parallel = tbb::this_task_arena::max_concurrency() > 2;
  const tbb::blocked_range<std::size_t> all_edges(0, edges.size(), 1 << 16);
  auto for_each_edge = [&](auto&& visit) {
    if (parallel)
      citynet::parallel_for(all_edges, [&](const auto& r) {
        for (std::size_t k = r.begin(); k != r.end(); ++k)
          if (edges[k].a != edges[k].b) visit(edges[k]);
      });
    else
      for (const Edge& e : edges)
        if (e.a != e.b) visit(e);
  };
  auto bump = [parallel](std::int64_t& slot) -> std::int64_t {
    if (!parallel) return slot++;
    return std::atomic_ref<std::int64_t>(slot).fetch_add(1, std::memory_order_relaxed);
  };

  std::vector<std::int64_t> counts(cities, 0);
  for_each_edge([&](const Edge& e) {
    bump(counts[static_cast<std::size_t>(e.a)]);
    bump(counts[static_cast<std::size_t>(e.b)]);
  });
  const std::vector<std::int64_t> start = offsets_from_counts(counts);
  const auto total = static_cast<std::size_t>(start.back());

  // Not a std::vector: value-initialising tens of millions of entries that are overwritten next
  // would cost as much as filling them.
  std::unique_ptr<Entry[]> entries(new Entry[total]);
  {
    std::vector<std::int64_t> cursor(start.begin(), start.end() - 1);
    for_each_edge([&](const Edge& e) {
      const auto at_a = static_cast<std::size_t>(bump(cursor[static_cast<std::size_t>(e.a)]));
      const auto at_b = static_cast<std::size_t>(bump(cursor[static_cast<std::size_t>(e.b)]));
      entries[at_a] = {e.b, e.weight};
      entries[at_b] = {e.a, e.weight};
    });
  }
  std::vector<Edge>().swap(edges);

  // Rows are independent: sort each by target, heaviest first among equal targets, and keep the
  // first of every run of equal targets. The result does not depend on the fill order, so it is
  // the same for any thread count.
  citynet::parallel_for(tbb::blocked_range<std::size_t>(0, cities, 1024), [&](const auto& r) {
    for (std::size_t c = r.begin(); c != r.end(); ++c) {
      Entry* first = entries.get() + start[c];
      Entry* last = entries.get() + start[c + 1];
      std::sort(first, last, [](const Entry& x, const Entry& y) {
        return x.target != y.target ? x.target < y.target : x.weight > y.weight;
      });
      Entry* kept = std::unique(
          first, last, [](const Entry& x, const Entry& y) { return x.target == y.target; });
      counts[c] = kept - first;
    }
  });

  Layer layer;
  layer.offsets = offsets_from_counts(counts);
  const auto kept_total = static_cast<std::size_t>(layer.offsets.back());
  layer.targets.resize(kept_total);
  layer.weights.resize(kept_total);
  citynet::parallel_for(tbb::blocked_range<std::size_t>(0, cities, 1024), [&](const auto& r) {
    for (std::size_t c = r.begin(); c != r.end(); ++c) {
      auto out = static_cast<std::size_t>(layer.offsets[c]);
      const Entry* first = entries.get() + start[c];
      for (std::int64_t k = 0; k < counts[c]; ++k, ++out) {
        layer.targets[out] = first[k].target;
        layer.weights[out] = first[k].weight;
      }
    }
  });
  return layer;
}

Layer complete_layer(CityId n) {
  if (n < 0) throw std::invalid_argument("complete_layer: negative number of cities");
  Layer layer;
  layer.kind = scenario::LayerKind::kComplete;
  layer.complete = true;
  return layer;
}

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = std::numbers::pi / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlon = (lon2 - lon1) * kRad;
  const double s_lat = std::sin(0.5 * dlat);
  const double s_lon = std::sin(0.5 * dlon);
  double a = s_lat * s_lat + std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * s_lon * s_lon;
  a = std::clamp(a, 0.0, 1.0);
  return 2.0 * kEarthRadiusKm * std::asin(std::sqrt(a));
}

namespace {

void check(bool ok, const scenario::Scenario& s, const std::string& key, const std::string& msg) {
  if (!ok) throw InputError(s.where(key), key, msg);
}

// Far beyond any real network of cities (the world scenario has a few million ties); a layer
// costs about 44 bytes per tie while it is built, so the limit keeps a typo in mean_degree or
// cities.count from exhausting memory before anything is reported.
constexpr double kMaxTies = 5e8;

// Checks the number of undirected ties a generated layer is expected to have.
void check_tie_count(double ties, const scenario::Scenario& s, const std::string& key) {
  if (ties <= kMaxTies) return;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", ties);
  throw InputError(s.where(key), key,
                   std::string("the layer would have about ") + buf +
                       " ties, more than the supported 5e8; lower it or cities.count");
}

std::string text(double v) {
  std::string out = std::to_string(v);
  while (out.size() > 1 && out.back() == '0') out.pop_back();
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

Network build_network(const scenario::Scenario& s, const model::CityTable& cities,
                      std::uint64_t run_key) {
  using scenario::LayerKind;
  Network network;
  network.cities = cities.size();
  const CityId n = cities.size();
  if (s.layers.size() > static_cast<std::size_t>(kMaxLayers))
    throw InputError(s.where("layers"), "layers",
                     std::to_string(s.layers.size()) + " layers; at most " +
                         std::to_string(kMaxLayers) + " are supported");

  std::optional<CityIndex> index;  // built on first use: only file layers need it
  auto city_index = [&]() -> const CityIndex& {
    if (!index) index = make_city_index(cities);
    return *index;
  };

  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    const scenario::LayerSpec& spec = s.layers[i];
    const std::string key = "layers[" + std::to_string(i) + "]";
    const auto id = static_cast<LayerId>(i);
    for (std::size_t j = 0; j < i; ++j)
      check(s.layers[j].name != spec.name, s, key + ".name",
            "the name '" + spec.name + "' is already used by layers[" + std::to_string(j) + "]");
    check(std::isfinite(spec.influence), s, key + ".influence", "must be a finite number");

    Layer layer;
    switch (spec.kind) {
      case LayerKind::kComplete:
        layer = complete_layer(n);
        break;
      case LayerKind::kErdosRenyi:
        check(std::isfinite(spec.mean_degree) && spec.mean_degree >= 0.0, s, key + ".mean_degree",
              text(spec.mean_degree) + " is not a degree (>= 0)");
        check_tie_count(
            0.5 * static_cast<double>(n) * std::min(spec.mean_degree, static_cast<double>(n)), s,
            key + ".mean_degree");
        layer = erdos_renyi(n, spec.mean_degree, run_key, id);
        break;
      case LayerKind::kRingLattice:
        check(std::isfinite(spec.mean_degree) && spec.mean_degree >= 0.0, s, key + ".mean_degree",
              text(spec.mean_degree) + " is not a degree (>= 0)");
        check_tie_count(
            0.5 * static_cast<double>(n) * std::min(spec.mean_degree, static_cast<double>(n)), s,
            key + ".mean_degree");
        layer = ring_lattice(n, spec.mean_degree);
        break;
      case LayerKind::kWattsStrogatz:
        check(std::isfinite(spec.mean_degree) && spec.mean_degree >= 0.0, s, key + ".mean_degree",
              text(spec.mean_degree) + " is not a degree (>= 0)");
        check(spec.rewire >= 0.0 && spec.rewire <= 1.0, s, key + ".rewire",
              text(spec.rewire) + " is not a probability in [0, 1]");
        check_tie_count(
            0.5 * static_cast<double>(n) * std::min(spec.mean_degree, static_cast<double>(n)), s,
            key + ".mean_degree");
        layer = watts_strogatz(n, spec.mean_degree, spec.rewire, run_key, id);
        break;
      case LayerKind::kBarabasiAlbert:
        check(spec.attach >= 1, s, key + ".attach",
              std::to_string(spec.attach) + ": a new city attaches with at least one tie");
        check_tie_count(static_cast<double>(n) * spec.attach, s, key + ".attach");
        layer = barabasi_albert(n, spec.attach, run_key, id);
        break;
      case LayerKind::kGeographic:
        check(std::isfinite(spec.radius_km) && spec.radius_km >= 0.0, s, key + ".radius_km",
              text(spec.radius_km) + " is not a distance (>= 0 km)");
        check(std::isfinite(spec.decay_km) && spec.decay_km > 0.0, s, key + ".decay_km",
              text(spec.decay_km) + " must be a positive distance in km");
        layer = geographic(cities, spec.radius_km, spec.decay_km);
        break;
      case LayerKind::kEdges:
        layer = load_edge_layer(s, i, city_index(), n);
        break;
      case LayerKind::kMembership:
        layer = load_membership_layer(s, i, city_index(), n);
        break;
      case LayerKind::kInformal:
        // Informal contacts are made during the run (conferences); the layer starts empty.
        layer = build_csr(n, {});
        break;
    }
    layer.name = spec.name;
    layer.kind = spec.kind;
    layer.influence = static_cast<float>(spec.influence);
    network.layers.push_back(std::move(layer));
  }
  return network;
}

}  // namespace citynet::net
