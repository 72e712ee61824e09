#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sweep/store.hpp"
#include "sweep/sweep.hpp"

namespace citynet::sweep {

inline constexpr const char* kSweepFormat = "citynet-sweep";
inline constexpr std::int32_t kSweepFormatVersion = 1;

// The summary metrics of one finished run, read back from its run file (the one source for them,
// so an index rebuilt by --merge holds exactly what the sweep itself wrote).
struct RunSummary {
  std::int64_t cities = 0;
  std::vector<std::int32_t> final_adopters;  // [solution]
  // Model time of the first state in which at least 10 / 50 / 90 % of the cities have the
  // solution; NaN when never reached. [solution]
  std::vector<double> time_to_10, time_to_50, time_to_90;
  // Adoption events (kind "adopt") by the layer of the tie they came through, then those through
  // no tie (innovation and other channels); empty when the run file holds no events.
  std::vector<std::int64_t> adoptions;
};

// Throws RunError when the file cannot be read.
RunSummary summarize_run_file(const std::string& path, std::size_t solutions, std::size_t layers);

using SummaryCache = std::map<std::int64_t, RunSummary>;

// Writes the index (analysis/OUTPUTS.md, "Sweep index") of the runs in `runs` to `path`, by way
// of a temporary file and a rename. `scope` is "all" or "shard K/N"; `link_prefix` is the path
// from the index file's directory to DIR ("" for DIR/sweep.h5, "../" for a shard fragment).
// Summaries of finished runs are read once and kept in `cache`.
void write_index(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                 const std::string& path, const std::vector<std::int64_t>& runs,
                 const std::string& scope, const std::string& link_prefix, SummaryCache& cache);

}  // namespace citynet::sweep
