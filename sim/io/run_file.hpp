#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/hdf5.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

namespace citynet::io {

inline constexpr const char* kRunFormat = "citynet-run";
inline constexpr std::int32_t kRunFormatVersion = 1;
inline constexpr const char* kRngScheme =
    "philox4x32-10 (run key, step, city, purpose|lane, block)";

// Writes one run file as the run goes (analysis/OUTPUTS.md is the contract). Everything goes to
// "<path>.partial-<pid>", renamed to <path> by finish(); if the writer is destroyed unfinished
// (an exception, an interrupted run) the partial file is removed, so no file under the final name
// ever looks complete without being so.
class RunFileWriter {
 public:
  RunFileWriter(std::string path, const scenario::Scenario& scenario);
  ~RunFileWriter();
  RunFileWriter(const RunFileWriter&) = delete;
  RunFileWriter& operator=(const RunFileWriter&) = delete;

  struct Meta {
    std::uint64_t seed = 0;
    std::uint64_t run_index = 0;
    std::int32_t threads = 0;
  };
  void write_static(const Meta& meta, const model::CityTable& cities, const net::Network& network);
  // The state after a step: model time and adopters per solution (row k of /series).
  void append_state(double time, const std::vector<std::int32_t>& adopters);
  void append_events(const std::vector<model::Event>& events);
  void finish(double wall_seconds);

  const std::string& path() const { return path_; }
  const std::string& partial_path() const { return partial_; }

 private:
  void flush_events();

  std::string path_;
  std::string partial_;
  const scenario::Scenario& scenario_;
  h5::Layout layout_;
  bool write_events_;
  h5::Handle file_;
  h5::AppendableDataset<double> time_;
  h5::AppendableDataset<std::int32_t> adopters_;
  h5::AppendableDataset<std::int32_t> ev_step_, ev_city_, ev_solution_, ev_source_, ev_layer_;
  h5::AppendableDataset<std::int8_t> ev_kind_;
  std::vector<model::Event> pending_;
  std::int32_t steps_written_ = -1;
  bool finished_ = false;
};

// What `citynet info` shows. Throws InputError (exit 2) for a file that is missing, not HDF5, not
// a citynet run, of a newer format version, or incomplete.
struct RunFileInfo {
  std::string path;
  std::string format;
  std::int32_t format_version = 0;
  std::string citynet_version;
  std::string git_commit;
  std::string scenario_name;
  std::uint64_t seed = 0;
  std::int32_t threads = 0;
  std::int32_t steps = 0;
  double wall_seconds = 0;
  bool complete = false;
  std::int64_t cities = 0;
  std::vector<std::string> layers;
  std::vector<std::int64_t> layer_ties;
  std::vector<std::string> solutions;
  std::vector<std::int32_t> final_adopters;
  double final_time = 0;
  std::int64_t events = 0;
};
RunFileInfo read_run_info(const std::string& path);

}  // namespace citynet::io
