#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "core/parallel.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"

namespace citynet::net {

namespace {

using rng::Purpose;
using rng::Stream;

// Rows are generated in chunks of this many cities, each into its own edge list, and the lists are
// joined in chunk order. The boundaries depend on n only, never on the thread count.
constexpr std::size_t kChunk = 1024;

std::vector<Edge> join(std::vector<std::vector<Edge>>& parts) {
  std::size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<Edge> edges;
  edges.reserve(total);
  for (auto& p : parts) {
    edges.insert(edges.end(), p.begin(), p.end());
    std::vector<Edge>().swap(p);
  }
  return edges;
}

// Rows [0, n) split into fixed chunks; `row(i, out)` appends the ties it generates for city i.
template <typename RowFn>
std::vector<Edge> generate_rows(CityId n, RowFn row) {
  const std::size_t rows = static_cast<std::size_t>(n);
  std::vector<std::vector<Edge>> parts((rows + kChunk - 1) / kChunk);
  citynet::parallel_for(tbb::blocked_range<std::size_t>(0, parts.size()), [&](const auto& r) {
    for (std::size_t chunk = r.begin(); chunk != r.end(); ++chunk) {
      const std::size_t end = std::min(rows, (chunk + 1) * kChunk);
      for (std::size_t i = chunk * kChunk; i < end; ++i) row(static_cast<CityId>(i), parts[chunk]);
    }
  });
  return join(parts);
}

// The CSR layer of a simple undirected graph given by its upper rows: `row(i, out)` appends the
// ties (i, j), j > i, in increasing j without repeats. Row c of the result is then its lower ties
// in increasing order (filled in row order) followed by its upper ones, so it is sorted with no
// edge list, sort or merge: half the memory and a fraction of the time of build_csr.
template <typename RowFn>
Layer csr_from_upper_rows(CityId n, RowFn row) {
  const std::size_t rows = static_cast<std::size_t>(n);
  std::vector<std::vector<CityId>> parts((rows + kChunk - 1) / kChunk);
  std::vector<std::int64_t> upper(rows, 0), lower(rows, 0);
  citynet::parallel_for(tbb::blocked_range<std::size_t>(0, parts.size()), [&](const auto& r) {
    for (std::size_t chunk = r.begin(); chunk != r.end(); ++chunk) {
      const std::size_t end = std::min(rows, (chunk + 1) * kChunk);
      for (std::size_t i = chunk * kChunk; i < end; ++i) {
        const std::size_t before = parts[chunk].size();
        row(static_cast<CityId>(i), parts[chunk]);
        upper[i] = static_cast<std::int64_t>(parts[chunk].size() - before);
      }
    }
  });
  for (const auto& part : parts)
    for (const CityId j : part) ++lower[static_cast<std::size_t>(j)];

  Layer layer;
  layer.offsets.assign(rows + 1, 0);
  for (std::size_t c = 0; c < rows; ++c)
    layer.offsets[c + 1] = layer.offsets[c] + lower[c] + upper[c];
  const auto total = static_cast<std::size_t>(layer.offsets.back());
  layer.targets.resize(total);
  layer.weights.assign(total, 1.0f);

  // Upper ties: each chunk copies its rows after their lower parts.
  citynet::parallel_for(tbb::blocked_range<std::size_t>(0, parts.size()), [&](const auto& r) {
    for (std::size_t chunk = r.begin(); chunk != r.end(); ++chunk) {
      const CityId* from = parts[chunk].data();
      const std::size_t end = std::min(rows, (chunk + 1) * kChunk);
      for (std::size_t i = chunk * kChunk; i < end; ++i) {
        std::copy(from, from + upper[i], layer.targets.begin() + layer.offsets[i] + lower[i]);
        from += upper[i];
      }
    }
  });
  // Lower ties: every block of target rows scans all rows in order, so each row's lower part is
  // filled in increasing order whatever the number of blocks.
  const auto blocks =
      static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  citynet::parallel_for(std::size_t{0}, blocks, [&](std::size_t b) {
    const auto lo = static_cast<CityId>(rows * b / blocks);
    const auto hi = static_cast<CityId>(rows * (b + 1) / blocks);
    std::vector<std::int64_t> cursor(static_cast<std::size_t>(hi - lo), 0);
    for (std::size_t chunk = 0; chunk < parts.size(); ++chunk) {
      const CityId* t = parts[chunk].data();
      const std::size_t end = std::min(rows, (chunk + 1) * kChunk);
      for (std::size_t i = chunk * kChunk; i < end; ++i)
        for (std::int64_t k = 0; k < upper[i]; ++k, ++t)
          if (*t >= lo && *t < hi) {
            const auto j = static_cast<std::size_t>(*t);
            layer.targets[static_cast<std::size_t>(layer.offsets[j] + cursor[j - lo]++)] =
                static_cast<CityId>(i);
          }
    }
  });
  return layer;
}

// Number of ring neighbours on each side: k = round(mean_degree), rounded down to even because a
// ring tie always has one neighbour on each side, and at most n/2 (a complete graph).
std::int64_t ring_half_width(CityId n, double mean_degree) {
  if (!(mean_degree >= 0.0) || !std::isfinite(mean_degree))
    throw std::invalid_argument("ring lattice: mean degree must be finite and >= 0");
  const double k = std::min(std::round(mean_degree), static_cast<double>(n));
  return std::min<std::int64_t>(static_cast<std::int64_t>(k) / 2, n / 2);
}

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Open-addressing set of undirected ties, for rewiring millions of ties without a node-based
// std::unordered_set. Erasure leaves a tombstone; the table is rebuilt without them when live
// keys and tombstones fill 70% of it.
class TieSet {
 public:
  explicit TieSet(std::size_t expected) { rebuild(capacity_for(expected)); }
  static std::uint64_t key(CityId a, CityId b) {
    const auto lo = static_cast<std::uint64_t>(std::min(a, b));
    const auto hi = static_cast<std::uint64_t>(std::max(a, b));
    return (lo << 32) | hi;
  }
  bool contains(std::uint64_t k) const { return slots_[find(k)] == k; }
  bool insert(std::uint64_t k) {
    std::size_t i = find(k);
    if (slots_[i] == k) return false;
    if (10 * (used_ + 1) > 7 * slots_.size()) {
      rebuild(capacity_for(live_ + 1));
      i = find(k);
    }
    slots_[i] = k;
    ++used_;
    ++live_;
    return true;
  }
  void erase(std::uint64_t k) {
    const std::size_t i = find(k);
    if (slots_[i] != k) return;
    slots_[i] = kTombstone;
    --live_;
  }

 private:
  static constexpr std::uint64_t kEmpty = ~0ull;
  static constexpr std::uint64_t kTombstone = ~0ull - 1;

  static std::size_t capacity_for(std::size_t keys) {
    std::size_t cap = 16;
    while (10 * keys > 6 * cap) cap <<= 1;
    return cap;
  }
  void rebuild(std::size_t cap) {
    std::vector<std::uint64_t> old(cap, kEmpty);
    old.swap(slots_);
    mask_ = cap - 1;
    used_ = live_ = 0;
    for (std::uint64_t k : old)
      if (k != kEmpty && k != kTombstone) {
        slots_[find(k)] = k;
        ++used_;
        ++live_;
      }
  }
  // The slot holding k, or the empty slot where the probe for k ends.
  std::size_t find(std::uint64_t k) const {
    std::size_t i = mix64(k) & mask_;
    while (slots_[i] != k && slots_[i] != kEmpty) i = (i + 1) & mask_;
    return i;
  }

  std::vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
  std::size_t used_ = 0;  // live keys and tombstones
  std::size_t live_ = 0;
};

}  // namespace

Layer erdos_renyi(CityId n, double mean_degree, std::uint64_t run_key, LayerId layer) {
  if (n < 0) throw std::invalid_argument("erdos_renyi: negative number of cities");
  if (!(mean_degree >= 0.0) || !std::isfinite(mean_degree))
    throw std::invalid_argument("erdos_renyi: mean degree must be finite and >= 0");
  if (n < 2 || mean_degree == 0.0) return build_csr(n, {});
  // A mean degree above n - 1 asks for more than the complete graph: p is capped at 1.
  const double p = std::min(1.0, mean_degree / static_cast<double>(n - 1));
  const double log_q = std::log1p(-p);
  const auto lane = static_cast<std::uint32_t>(layer);

  // Row i draws the ties (i, j), j > i, from its own stream by geometric skipping
  // (Batagelj & Brandes 2005): the gap to the next tie is Geometric(p), so the cost is
  // O(n + m) and the graph is the same however the rows are shared among threads.
  return csr_from_upper_rows(n, [&](CityId i, std::vector<CityId>& out) {
    Stream rng(run_key, 0, static_cast<std::uint32_t>(i), Purpose::kNetwork, lane);
    std::int64_t j = i;
    for (;;) {
      if (p < 1.0) {
        const double gap = std::floor(std::log(rng.uniform_pos()) / log_q);
        if (gap >= static_cast<double>(n - 1 - j)) break;
        j += 1 + static_cast<std::int64_t>(gap);
      } else if (++j >= n) {
        break;
      }
      out.push_back(static_cast<CityId>(j));
    }
  });
}

Layer ring_lattice(CityId n, double mean_degree) {
  if (n < 0) throw std::invalid_argument("ring_lattice: negative number of cities");
  const std::int64_t half = ring_half_width(n, mean_degree);
  std::vector<Edge> edges;
  edges.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t d = 1; d <= half; ++d)
      edges.push_back(Edge{static_cast<CityId>(i), static_cast<CityId>((i + d) % n), 1.0f});
  return build_csr(n, std::move(edges));
}

Layer watts_strogatz(CityId n, double mean_degree, double rewire, std::uint64_t run_key,
                     LayerId layer) {
  if (n < 0) throw std::invalid_argument("watts_strogatz: negative number of cities");
  if (!(rewire >= 0.0 && rewire <= 1.0))
    throw std::invalid_argument("watts_strogatz: rewire must be a probability");
  const std::int64_t half = ring_half_width(n, mean_degree);
  const auto lane = static_cast<std::uint32_t>(layer);

  // The ring lattice; with n even and half = n/2 the opposite tie appears twice and is kept once.
  std::vector<Edge> edges;
  edges.reserve(static_cast<std::size_t>(n) * static_cast<std::size_t>(half));
  TieSet ties(static_cast<std::size_t>(n) * static_cast<std::size_t>(half));
  std::vector<std::int64_t> degree(static_cast<std::size_t>(n), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t d = 1; d <= half; ++d) {
      const auto a = static_cast<CityId>(i);
      const auto b = static_cast<CityId>((i + d) % n);
      if (!ties.insert(TieSet::key(a, b))) continue;
      edges.push_back(Edge{a, b, 1.0f});
      ++degree[static_cast<std::size_t>(a)];
      ++degree[static_cast<std::size_t>(b)];
    }
  if (rewire == 0.0) return build_csr(n, std::move(edges));

  // Each tie keeps its near end (city a) and moves its far end, with probability `rewire`, to a
  // uniformly drawn city that is neither a nor already tied to a. Sequential, because a rewiring
  // changes which targets later ones may pick; each city's draws come from its own stream.
  std::size_t e = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    Stream rng(run_key, 0, static_cast<std::uint32_t>(i), Purpose::kNetwork, lane);
    for (; e < edges.size() && edges[e].a == i; ++e) {
      if (!rng.bernoulli(rewire)) continue;
      const CityId a = edges[e].a;
      if (degree[static_cast<std::size_t>(a)] >= n - 1) continue;  // nowhere to go
      CityId w;
      do w = static_cast<CityId>(rng.below(static_cast<std::uint64_t>(n)));
      while (w == a || ties.contains(TieSet::key(a, w)));
      ties.erase(TieSet::key(a, edges[e].b));
      ties.insert(TieSet::key(a, w));
      --degree[static_cast<std::size_t>(edges[e].b)];
      ++degree[static_cast<std::size_t>(w)];
      edges[e].b = w;
    }
  }
  return build_csr(n, std::move(edges));
}

Layer barabasi_albert(CityId n, std::int32_t attach, std::uint64_t run_key, LayerId layer) {
  if (n < 0) throw std::invalid_argument("barabasi_albert: negative number of cities");
  if (attach < 1) throw std::invalid_argument("barabasi_albert: attach must be >= 1");
  const auto m = static_cast<std::int64_t>(attach);
  const std::int64_t core = std::min<std::int64_t>(m + 1, n);
  const auto lane = static_cast<std::uint32_t>(layer);

  std::vector<Edge> edges;
  // Every tie end once: drawing uniformly from it picks a city with probability proportional to
  // its degree.
  std::vector<CityId> ends;
  const auto expected =
      static_cast<std::size_t>(core * (core - 1) / 2 + m * std::max<std::int64_t>(0, n - core));
  edges.reserve(expected);
  ends.reserve(2 * expected);
  for (std::int64_t a = 0; a < core; ++a)
    for (std::int64_t b = a + 1; b < core; ++b) {
      edges.push_back(Edge{static_cast<CityId>(a), static_cast<CityId>(b), 1.0f});
      ends.push_back(static_cast<CityId>(a));
      ends.push_back(static_cast<CityId>(b));
    }

  std::vector<CityId> chosen;
  chosen.reserve(static_cast<std::size_t>(m));
  for (std::int64_t v = core; v < n; ++v) {
    Stream rng(run_key, 0, static_cast<std::uint32_t>(v), Purpose::kNetwork, lane);
    chosen.clear();
    // v > m cities exist, each with degree >= 1 (the core is a clique), so m distinct targets can
    // always be drawn.
    while (static_cast<std::int64_t>(chosen.size()) < m) {
      const CityId t = ends[rng.below(ends.size())];
      if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) chosen.push_back(t);
    }
    for (CityId t : chosen) {
      edges.push_back(Edge{static_cast<CityId>(v), t, 1.0f});
      ends.push_back(static_cast<CityId>(v));
      ends.push_back(t);
    }
  }
  return build_csr(n, std::move(edges));
}

Layer geographic(const model::CityTable& cities, double radius_km, double decay_km) {
  if (!(radius_km >= 0.0) || !std::isfinite(radius_km))
    throw std::invalid_argument("geographic: radius must be finite and >= 0");
  if (!(decay_km > 0.0) || !std::isfinite(decay_km))
    throw std::invalid_argument("geographic: decay must be finite and > 0");
  const CityId n = cities.size();
  constexpr double kDeg = 180.0 / std::numbers::pi;

  // Latitude bands one radius high: a city's neighbours lie in its own band or the two next to
  // it, because the great-circle distance is at least the difference in latitude. Within a band
  // the cities are sorted by longitude and found by binary search in the window the radius allows
  // at the query's latitude. The small relative margins only add candidates (each is checked
  // with haversine_km), so that rounding never loses a pair at exactly the radius.
  const double delta = radius_km / kEarthRadiusKm;  // angular radius, radians
  const double band_deg = std::max(delta * kDeg * (1.0 + 1e-9) + 1e-9, 1e-9);
  const auto band_count = static_cast<std::int64_t>(std::ceil(180.0 / band_deg));
  auto band_of = [&](double lat) {
    const double b = std::floor((std::clamp(lat, -90.0, 90.0) + 90.0) / band_deg);
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(b), 0, band_count - 1);
  };

  struct Point {
    std::int64_t band;
    double lon;
    CityId city;
  };
  std::vector<Point> points(static_cast<std::size_t>(n));
  for (CityId c = 0; c < n; ++c) {
    const auto i = static_cast<std::size_t>(c);
    points[i] = Point{band_of(cities.latitude[i]), cities.longitude[i], c};
  }
  std::sort(points.begin(), points.end(), [](const Point& x, const Point& y) {
    if (x.band != y.band) return x.band < y.band;
    if (x.lon != y.lon) return x.lon < y.lon;
    return x.city < y.city;
  });

  auto edges = generate_rows(n, [&](CityId i, std::vector<Edge>& out) {
    const auto ii = static_cast<std::size_t>(i);
    const double lat = cities.latitude[ii];
    const double lon = cities.longitude[ii];
    const double cos_lat = std::cos(lat / kDeg);
    // The widest longitude difference a point within `delta` can have; the whole circle when the
    // cap around the city reaches a pole.
    double window = 360.0;
    if (std::abs(lat) / kDeg + delta < 0.5 * std::numbers::pi && std::sin(delta) < cos_lat)
      window = std::asin(std::min(1.0, std::sin(delta) / cos_lat)) * kDeg * (1.0 + 1e-9) + 1e-9;

    auto visit = [&](const Point* first, const Point* last) {
      for (const Point* p = first; p != last; ++p) {
        if (p->city <= i) continue;
        const auto j = static_cast<std::size_t>(p->city);
        const double d = haversine_km(lat, lon, cities.latitude[j], cities.longitude[j]);
        if (d <= radius_km)
          out.push_back(Edge{i, p->city, static_cast<float>(std::exp(-d / decay_km))});
      }
    };
    auto visit_lon = [&](const Point* first, const Point* last, double lo, double hi) {
      const Point* a =
          std::lower_bound(first, last, lo, [](const Point& p, double v) { return p.lon < v; });
      const Point* b =
          std::upper_bound(a, last, hi, [](double v, const Point& p) { return v < p.lon; });
      visit(a, b);
    };

    const std::int64_t b = band_of(lat);
    for (std::int64_t band = std::max<std::int64_t>(0, b - 1);
         band <= std::min(band_count - 1, b + 1); ++band) {
      const Point* all_first = points.data();
      const Point* all_last = points.data() + points.size();
      const Point* first = std::lower_bound(
          all_first, all_last, band, [](const Point& p, std::int64_t v) { return p.band < v; });
      const Point* last = std::upper_bound(
          first, all_last, band, [](std::int64_t v, const Point& p) { return v < p.band; });
      if (window >= 180.0) {
        visit(first, last);
      } else if (lon - window < -180.0) {  // the window crosses the antimeridian westwards
        visit_lon(first, last, -180.0, lon + window);
        visit_lon(first, last, lon - window + 360.0, 180.0);
      } else if (lon + window > 180.0) {  // ... or eastwards
        visit_lon(first, last, lon - window, 180.0);
        visit_lon(first, last, -180.0, lon + window - 360.0);
      } else {
        visit_lon(first, last, lon - window, lon + window);
      }
    }
  });
  return build_csr(n, std::move(edges));
}

}  // namespace citynet::net
