#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/ids.hpp"

namespace citynet::model {

// Kinds of events in /events. Append only: the codes are part of the output contract.
enum class EventKind : std::int8_t { kSeed = 0, kAdopt = 1, kAdapt = 2, kDrop = 3, kMandate = 4 };
inline constexpr std::array<std::string_view, 5> kEventKindNames = {"seed", "adopt", "adapt",
                                                                    "drop", "mandate"};

// What weighed most in an adoption (Shipan & Volden 2008), -1 for events without one. Append only.
enum class Mechanism : std::int8_t {
  kNone = -1,
  kInnovation = 0,
  kLearning = 1,
  kImitation = 2,
  kCompetition = 3,
  kCoercion = 4,
};
inline constexpr std::array<std::string_view, 5> kMechanismNames = {
    "innovation", "learning", "imitation", "competition", "coercion"};

// One change of one city's status for one solution. `step` is the index of the first state that
// shows it (0 = the initial state, k = after k steps).
struct Event {
  Step step;
  CityId city;
  SolutionId solution;
  EventKind kind;
  CityId source;  // the city it came from, or -1
  LayerId layer;  // the layer of the tie it came through, or -1
  Mechanism mechanism = Mechanism::kNone;
  std::int32_t variant = -1;  // the variant adopted or created (row of /variants), or -1
};

inline bool event_order(const Event& a, const Event& b) {
  if (a.step != b.step) return a.step < b.step;
  if (a.city != b.city) return a.city < b.city;
  return a.solution < b.solution;
}

}  // namespace citynet::model
