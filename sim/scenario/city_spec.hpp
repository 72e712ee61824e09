#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citynet::scenario {

// Parameters of the `city` decision rule: cities that observe their peers through living ties,
// learn, adopt, adapt and drop (config/defaults.yaml documents each key).

inline constexpr int kContextDims = 3;  // log population, climate (|latitude|), income group

enum class ExposureForm { kLinear, kFractionalThreshold, kCountThreshold, kConformist };
enum class NationalForm { kMandate, kSubsidy };

// Per-solution attributes (keys under solutions[]); the classic rules ignore them.
struct SolutionModelSpec {
  double payoff = 1.0;         // gross payoff per unit time at perfect fit
  double cost = 0.5;           // running cost per unit time, divided by the city's capacity
  double lag = 1.0;            // implementation lag, time units before it pays
  double observability = 0.5;  // sd of the noise of a peer's outcome seen through a tie of weight 1
  double complexity = 0.3;     // share of the design a city of low capacity leaves out at first
  std::vector<double> ideal{0.5, 0.4, 0.5};  // context it was designed for
  double context_tolerance = 0.6;            // how far from its design a context still fits
};

struct CityRuleSpec {
  // Decide: hazard 1 - exp(-dt [p + q F(exposure)] g(U)).
  double innovation = 0.0005;  // p, per unit time
  double imitation = 0.3;      // q, per unit time
  ExposureForm exposure = ExposureForm::kLinear;
  double exposure_threshold = 0.2;  // fractional threshold
  std::int32_t exposure_count = 2;  // count threshold
  double conformity = 2.0;          // conformist exponent (> 1 favours the majority)
  double weight_learning = 2.0;     // utility weight of the expected net payoff
  double weight_cost = 1.0;
  double weight_competition = 1.0;
  double weight_prestige = 1.0;
  double weight_incentive = 1.0;
  double utility_bias = 0.0;
  double prestige_fade = 5.0;  // time units for a peer's adoption to lose 1/e of its prestige
  // Learn.
  double prior_mean = 0.0;
  double prior_precision = 1.0;
  double outcome_noise = 0.3;      // sd of a city's own realised outcome around its payoff
  double context_bandwidth = 0.5;  // similarity exp(-d^2 / 2 h^2) between peers' contexts
  // Adapt.
  double adapt_probability = 0.3;  // at adoption: chance the city re-invents the variant
  double adapt_rate = 0.5;         // share of the way toward its own context
  double readapt_rate = 0.1;       // per unit time, later re-invention of a poorly fitting variant
  // Drop.
  double drop_base = 0.005;  // per unit time
  double drop_poor = 0.5;    // per unit time and unit of expected net loss
  double shock_rate = 0.01;  // budget or political shocks per unit time
  double drop_peer = 0.2;    // per unit time at a share 1 of observed peers that dropped
};

struct TieSpec {
  double activity = 6.0;   // rate per unit time at which a tie of weight 1 is used
  double reinforce = 0.3;  // share of the gap to 1 that a use closes
  double decay = 0.7;      // per unit time, weight lost by an unused dynamic tie (exp(-decay t))
  double conference_rate = 0.5;  // new informal contacts per city per unit time (times openness)
  double homophily = 0.7;        // chance a new contact is sought within the same continent
  std::int32_t informal_slots = 6;
  double join_rate = 0.002;  // per unit time, a formal network's recruitment hazard at openness 1
  double leave_rate = 0.01;  // per unit time
};

struct NationalSpec {
  bool enabled = true;
  double pressure_threshold = 0.4;  // population share of the country's cities that adopted
  double legislative_lag = 3.0;     // time units from pressure to national adoption
  double compliance_lag = 2.0;      // time units given to cities under a mandate
  NationalForm form = NationalForm::kSubsidy;
  double subsidy = 0.5;         // share of the cost the nation pays
  bool pressure_valve = false;  // local adoption relieves national urgency
  double valve_level = 0.6;     // above this share the nation sees no need to act
};

struct EconomySpec {
  double trade_growth = 0.15;  // per unit time, times the tie's weight
  double trade_decay = 0.3;    // per unit time, times 1 - weight
  double trade_seed = 1.0;     // new trade per unit time on a tie of weight 1
  double gdp_benefit = 0.002;  // GDP index gained per unit of trade stock and unit time
  double jobs_per_trade = 25;  // jobs proxy per unit of trade stock
};

struct CityModelSpec {
  CityRuleSpec rule;
  TieSpec ties;
  NationalSpec national;
  EconomySpec economy;
  std::string country_groups_file;   // iso2,group CSV; group "developed" marks high income
  std::int32_t snapshot_every = 12;  // steps between tie-weight snapshots; 0 = none
};

}  // namespace citynet::scenario
