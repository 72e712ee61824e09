#pragma once

#include "net/network.hpp"

namespace citynet::net {

// What-if edits of a built network, for experiments that compare a city with and without its
// ties. Both keep the CSR invariants (rows sorted, ties in both directions).

// Removes every tie of city c from the layer (both directions). A complete layer becomes an
// explicit one without c's ties only when `n` is small enough to hold it; otherwise it is left.
void remove_city_ties(Layer& layer, CityId c);
// Removes every tie of the layer; a complete layer stops being complete.
void clear_layer(Layer& layer, CityId n);

}  // namespace citynet::net
