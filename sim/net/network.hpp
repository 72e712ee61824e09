#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "model/cities.hpp"
#include "scenario/scenario.hpp"

namespace citynet::net {

// One layer of the multiplex network as a CSR adjacency: the ties of city c are
// targets[offsets[c] .. offsets[c+1]) with the same range of weights. Ties are undirected and
// stored in both directions, sorted by target within a row, without self-loops or duplicates.
// A complete layer keeps no ties (`complete` is true and the arrays are empty): its exposure is
// the global adopted share.
struct Layer {
  std::string name;
  scenario::LayerKind kind = scenario::LayerKind::kErdosRenyi;
  float influence = 1.0f;
  bool complete = false;
  std::vector<std::int64_t> offsets;  // size n + 1 (empty when complete)
  std::vector<CityId> targets;
  std::vector<float> weights;

  std::int64_t edge_count() const { return static_cast<std::int64_t>(targets.size()); }
  std::int64_t degree(CityId c) const { return complete ? 0 : offsets[c + 1] - offsets[c]; }
  std::int64_t bytes() const {
    return static_cast<std::int64_t>(offsets.capacity() * sizeof(std::int64_t) +
                                     targets.capacity() * sizeof(CityId) +
                                     weights.capacity() * sizeof(float));
  }
};

struct Network {
  CityId cities = 0;
  std::vector<Layer> layers;

  LayerId find(const std::string& name) const;  // -1 when absent
};

// An undirected tie given as a pair; used by generators and loaders before the CSR is built.
struct Edge {
  CityId a;
  CityId b;
  float weight;
};

// Builds a layer from undirected edges: symmetrised, self-loops dropped, duplicates merged (the
// largest weight kept), rows sorted by target.
Layer build_csr(CityId n, std::vector<Edge> edges);

// Generators. Each draws from counter-based streams keyed by `run_key` and `layer` only, so the
// graph depends on the seed and the layer's position, never on threads.
Layer complete_layer(CityId n);
// G(n, p) with p = mean_degree / (n - 1), capped at 1.
Layer erdos_renyi(CityId n, double mean_degree, std::uint64_t run_key, LayerId layer);
// Ring lattice: each city tied to its k/2 nearest neighbours on each side, k = round(mean_degree)
// rounded down to even (a ring tie has a neighbour on each side); k >= n gives the complete graph.
// Watts-Strogatz rewires the far end of each lattice tie with probability `rewire`.
Layer ring_lattice(CityId n, double mean_degree);
Layer watts_strogatz(CityId n, double mean_degree, double rewire, std::uint64_t run_key,
                     LayerId layer);
Layer barabasi_albert(CityId n, std::int32_t attach, std::uint64_t run_key, LayerId layer);
// Cities within radius_km (great-circle distance) are tied with weight exp(-d / decay_km).
Layer geographic(const model::CityTable& cities, double radius_km, double decay_km);

// Mean Earth radius (IUGG), the sphere all distances are measured on.
inline constexpr double kEarthRadiusKm = 6371.0088;

// Great-circle distance in km between two points given in degrees.
double haversine_km(double lat1, double lon1, double lat2, double lon2);

// All layers the scenario declares, in order, with names and influence set. Edge-list and
// membership files are read relative to the scenario's data_dir; bad rows throw InputError naming
// the file and line. Rows tying a city to itself are dropped and duplicate ties merged; a
// membership file is one club, stored as a clique of its members.
Network build_network(const scenario::Scenario& s, const model::CityTable& cities,
                      std::uint64_t run_key);

}  // namespace citynet::net
