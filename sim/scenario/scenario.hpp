#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "scenario/city_spec.hpp"

namespace citynet::scenario {

// The typed, validated form of a scenario file. Every field has been checked against the schema in
// config/defaults.yaml (type, range, choices) and defaults are filled in; what needs the data
// (city names, ids in CSV files) is checked when the world is built, using `where()`.

enum class CitySource { kSynthetic, kCsv };

struct CitiesSpec {
  CitySource source = CitySource::kSynthetic;
  std::int64_t count = 1000;    // synthetic
  std::int32_t countries = 20;  // synthetic: cities are spread over this many countries
  std::string file;             // csv, as written (relative to Scenario::data_dir)
  std::string id_column = "id";
  std::string name_column = "name";
  std::string country_column = "country_code";
  std::string latitude_column = "latitude";
  std::string longitude_column = "longitude";
  std::string population_column = "population";
  double min_population = 0.0;
  std::int64_t max_cities = 0;  // 0 = no limit; otherwise the first max_cities rows kept
};

enum class LayerKind {
  kComplete,
  kErdosRenyi,
  kWattsStrogatz,
  kBarabasiAlbert,
  kRingLattice,
  kGeographic,
  kEdges,
  kMembership,
  kInformal,  // city model: contacts made at conferences, none at the start
};

struct LayerSpec {
  std::string name;
  LayerKind kind = LayerKind::kErdosRenyi;
  double influence = 1.0;     // weight of this layer when exposures of several layers are combined
  double mean_degree = 10.0;  // erdos_renyi, watts_strogatz, ring_lattice
  double rewire = 0.1;        // watts_strogatz
  std::int32_t attach = 3;    // barabasi_albert: edges per new city
  double radius_km = 500.0;   // geographic
  double decay_km = 200.0;    // geographic: tie weight exp(-distance / decay_km)
  std::string file;           // edges, membership
  std::string source_column = "source";  // edges
  std::string target_column = "target";  // edges
  std::string weight_column;             // edges; empty = every tie weight 1
  std::string city_column = "city";      // membership
  bool skip_unknown_cities = false;      // edges, membership: drop rows naming cities not loaded
  bool dynamic = false;  // city model: tie weights reinforced by use and decaying without it
  bool trade = false;    // city model: ties carry a trade stock (sister-city economy)
};

// A seed adoption: the solution's origin, adopted at model time `at` (before the first step when
// `at` <= time.start).
struct SeedSpec {
  std::string city;      // city name, matched exactly ...
  std::string country;   // ... within this country code when given
  std::int64_t id = -1;  // or the city id
  double at = 0.0;
  Location where;  // of this seed entry, for errors found when the world is built
};

struct SolutionSpec {
  std::string name;
  std::vector<SeedSpec> seeds;
  std::int64_t random_seeds = 0;  // this many cities drawn at random adopt at random_seeds_at
  double random_seeds_at = 0.0;
  SolutionModelSpec model;  // city model attributes
};

enum class RuleKind { kBass, kFractionalThreshold, kCountThreshold, kIndependentCascade, kCity };
enum class ThresholdDistribution { kFixed, kUniform, kNormal };

struct RuleSpec {
  RuleKind kind = RuleKind::kBass;
  std::vector<std::string> layers;  // names of the layers that carry exposure; empty = all
  double p = 0.03;                  // bass: innovation, per unit time
  double q = 0.38;                  // bass: imitation, per unit time
  ThresholdDistribution threshold_distribution = ThresholdDistribution::kFixed;
  double threshold_mean = 0.18;  // fixed value, or mean of the normal
  double threshold_sd = 0.0;     // normal (clipped to [0, 1])
  double threshold_min = 0.0;    // uniform
  double threshold_max = 1.0;    // uniform
  std::int32_t count_k = 2;      // count_threshold
  double transmission = 0.2;     // independent_cascade: probability per tie per chance
};

struct TimeSpec {
  std::int32_t steps = 120;
  double dt = 1.0;  // model time per step, in `unit`
  std::string unit = "year";
  double start = 0.0;  // model time at step 0
};

struct OutputSpec {
  std::string file;              // empty: "<name>.h5" in the current directory
  std::int32_t compression = 1;  // deflate level, 0 = none
  bool events = true;
  bool network = true;  // write /network
};

// A question scenario (scenarios/questions/): `citynet run` runs the comparison it names and
// prints the answer in plain words.
enum class QuestionKind { kNone, kIsolation, kChannels, kSisterTies, kSouthNorth };
struct QuestionSpec {
  QuestionKind kind = QuestionKind::kNone;
  std::string city;  // isolation: the city cut off
  std::string country;
  std::string solution;          // isolation, channels: the solution followed ("" = the first)
  std::string layer = "sister";  // sister_ties: the layer of sister-city ties
  std::int32_t replications = 4;
};

struct Scenario {
  std::string name = "unnamed";
  std::string description;
  std::uint64_t seed = 1;
  std::string data_dir;  // resolved directory for data files, or kBuiltInDataDir
  TimeSpec time;
  CitiesSpec cities;
  std::vector<LayerSpec> layers;
  std::vector<SolutionSpec> solutions;
  RuleSpec rule;
  CityModelSpec model;  // the city rule's parameters (city.*, ties.*, national.*, economy.*)
  QuestionSpec question;
  OutputSpec output;

  std::string
      source_file;  // what errors call the scenario file ("<built-in>/scenarios/world.yaml")
  std::string resolved_yaml;  // the whole scenario, defaults merged and overrides applied
  // Location of every key path that was written in the file (or by --set), e.g.
  // "layers[1].file" -> line 12 column 11. Keys that came from defaults are absent.
  std::map<std::string, Location> locations;

  // Location of `key`, or of its closest written ancestor, or just the file.
  Location where(const std::string& key) const;
};

}  // namespace citynet::scenario
