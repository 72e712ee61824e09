#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "net/network.hpp"

// Layers read from data files; used by build_network.
namespace citynet::net {

// External city id (CityTable::id) -> dense CityId.
using CityIndex = std::unordered_map<std::int64_t, CityId>;
CityIndex make_city_index(const model::CityTable& cities);

// Layer `index` of the scenario, of kind edges or membership.
Layer load_edge_layer(const scenario::Scenario& s, std::size_t index, const CityIndex& ids,
                      CityId n);
Layer load_membership_layer(const scenario::Scenario& s, std::size_t index, const CityIndex& ids,
                            CityId n);

}  // namespace citynet::net
