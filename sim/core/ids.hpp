#pragma once

#include <cstdint>

namespace citynet {

// Dense indices into the structure-of-arrays tables. Kept as plain integers in hot loops; the
// aliases make interfaces say which table an index belongs to.
using CityId = std::int32_t;
using SolutionId = std::int32_t;
using LayerId = std::int32_t;
using Step = std::int32_t;

inline constexpr int kMaxLayers = 16;
inline constexpr int kMaxSolutions = 4096;

}  // namespace citynet
