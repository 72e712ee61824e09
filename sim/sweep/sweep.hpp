#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace citynet::sweep {

// A parameter sweep: a base scenario, the parameters to vary and how, and replications. Loading
// validates everything (the sweep file, every varied key against the scenario schema, and the base
// scenario with each point's overrides) before anything runs, collecting every problem into one
// InputError, like scenarios.

// kSaltelli: the Sobol-sequence design of Saltelli (2010) for Sobol sensitivity indices. For
// samples N and k parameters it has N (k + 2) points, base sample j giving points
// j (k + 2) + b: b = 0 is A_j, b = 1 is B_j, b = 2 + i is A_j with parameter i taken from B_j.
enum class DesignKind { kNone, kPoints, kGrid, kLatinHypercube, kSobol, kSaltelli };
std::string_view design_name(DesignKind kind);

struct VariedParameter {
  std::string key;         // as written: "rule.bass.p", "layers[2].influence"
  std::string schema_key;  // the schema's spelling: "layers[].influence"
  std::string type;        // int, double, bool, string or choice
  Location where;          // of the key in the sweep file
};

struct Sweep {
  std::string name;
  std::string source_file;    // the sweep file, as given on the command line
  std::string scenario_path;  // the base scenario as written in the sweep file
  std::string scenario_file;  // ... resolved against the sweep file's directory
  std::uint64_t seed = 1;
  std::int64_t replications = 1;
  std::vector<std::string> fixed;  // "KEY=VALUE" applied to every run
  DesignKind kind = DesignKind::kNone;
  std::vector<VariedParameter> parameters;
  // [point][parameter]: each value as the text of its override, so a value in the index reads
  // back exactly as the run used it.
  std::vector<std::vector<std::string>> points;
  std::vector<std::string> solutions;  // of the base scenario, for the index's metric columns
  std::vector<std::string> layers;

  // The whole sweep, every point listed, plus the base scenario (without its machine-specific
  // data_dir): stored in sweep.h5 and hashed into `fingerprint`, which tells whether an output
  // directory holds this sweep.
  std::string resolved_yaml;
  std::string scenario_yaml;
  std::string fingerprint;

  std::int64_t point_count() const { return static_cast<std::int64_t>(points.size()); }
  std::int64_t runs() const { return point_count() * replications; }
  // Runs are numbered point-major: run i is replication i % R of point i / R.
  std::int64_t point_of(std::int64_t run) const { return run / replications; }
  std::int64_t replication_of(std::int64_t run) const { return run % replications; }
  // What makes run `run` out of the base scenario: the fixed overrides, the point's values and
  // the sweep seed (the run index, given to the run apart, tells the runs of a point apart).
  std::vector<std::string> overrides(std::int64_t run) const;
  // "rule.bass.p=0.01, rule.bass.q=0.4" for messages.
  std::string describe_point(std::int64_t point) const;
};

// Every run uses the sweep seed as its scenario `seed` and its run index as the run index of the
// run file, so its random key is rng::run_key(sweep seed, run index): it derives from those two
// numbers only, and a run reproduces alone whatever else the sweep holds or however it ran.
std::uint64_t run_key_of(std::uint64_t sweep_seed, std::int64_t run_index);

// Loads and validates a sweep file. Throws InputError with every problem found.
Sweep load_sweep_file(const std::string& path);
Sweep load_sweep_text(std::string_view text, const std::string& display_name,
                      const std::string& base_dir);

// FNV-1a, 64 bits, as 16 hex digits.
std::string fingerprint_of(std::string_view text);

}  // namespace citynet::sweep
