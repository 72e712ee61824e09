#include "net/edit.hpp"

namespace citynet::net {

void remove_city_ties(Layer& layer, CityId c) {
  if (layer.complete || layer.offsets.empty()) return;
  const auto n = static_cast<CityId>(layer.offsets.size() - 1);
  std::vector<std::int64_t> offsets(layer.offsets.size(), 0);
  std::vector<CityId> targets;
  std::vector<float> weights;
  targets.reserve(layer.targets.size());
  weights.reserve(layer.weights.size());
  for (CityId i = 0; i < n; ++i) {
    offsets[i] = static_cast<std::int64_t>(targets.size());
    if (i == c) continue;
    for (std::int64_t k = layer.offsets[i]; k < layer.offsets[i + 1]; ++k) {
      if (layer.targets[k] == c) continue;
      targets.push_back(layer.targets[k]);
      weights.push_back(layer.weights[k]);
    }
  }
  offsets[n] = static_cast<std::int64_t>(targets.size());
  layer.offsets = std::move(offsets);
  layer.targets = std::move(targets);
  layer.weights = std::move(weights);
}

void clear_layer(Layer& layer, CityId n) {
  layer.complete = false;
  layer.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  layer.targets.clear();
  layer.weights.clear();
}

}  // namespace citynet::net
