#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "io/hdf5.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "model/model.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

namespace citynet::io {

inline constexpr const char* kRunFormat = "citynet-run";
inline constexpr std::int32_t kRunFormatVersion = 1;
inline constexpr const char* kRngScheme =
    "philox4x32-10 (run key, step, city, purpose|lane, block)";

// Creating an HDF5 file took 0.36 ms of a 10^4-city run's writer, most of it HDF5's metadata
// cache (528 kB cleared, 130 page faults), while the setup needed both cores. `citynet run -o`
// knows the file's name before it reads the scenario: create_ahead(path) creates it then, on a
// thread of its own, and the RunFileWriter for `path` takes it in open() instead of creating it
// (waiting for it if it is not there yet). The file is the same. discard_ahead(path) closes and
// removes one no writer took (the scenario was bad, or asked a question). announce_ahead(path)
// comes first, on the thread that will make the writer, so that open() knows to wait, and
// create_ahead(path) must follow it.
void announce_ahead(const std::string& path);
void create_ahead(const std::string& path);
void discard_ahead(const std::string& path);

// Writes one run file as the run goes (analysis/OUTPUTS.md is the contract). Everything goes to
// "<path>.partial-<pid>", renamed to <path> by finish(); if the writer is destroyed unfinished
// (an exception, an interrupted run) the partial file is removed, so no file under the final name
// ever looks complete without being so.
class RunFileWriter {
 public:
  RunFileWriter(std::string path, const scenario::Scenario& scenario);
  // A writer whose file open() creates later, possibly on another thread.
  struct Unopened {};
  RunFileWriter(std::string path, const scenario::Scenario& scenario, Unopened);
  void open();
  ~RunFileWriter();
  RunFileWriter(const RunFileWriter&) = delete;
  RunFileWriter& operator=(const RunFileWriter&) = delete;

  struct Meta {
    std::uint64_t seed = 0;
    std::uint64_t run_index = 0;
    std::int32_t threads = 0;
    // False in sweeps: `threads` and `wall_seconds` are left out so that a run file is
    // byte-identical however the sweep was executed (the sweep index records both).
    bool volatile_metadata = true;
  };
  // What a run file holds before its first step, in this order: what the scenario alone says
  // (root attributes, the resolved scenario, the solutions and the datasets that grow with the
  // steps), the cities, the network. write_static does all three.
  void write_static(const Meta& meta, const model::CityTable& cities, const net::Network& network);
  void write_header(const Meta& meta);
  void write_cities(const model::CityTable& cities);
  void write_network(const net::Network& network);
  // Writes out what the file holds so far, HDF5's metadata (object headers, chunk indexes) with
  // it, so that the close writes only what changes after.
  void flush();
  // The state after a step: model time and adopters per solution (row k of /series).
  void append_state(double time, const std::vector<std::int32_t>& adopters);
  void append_events(const std::vector<model::Event>& events);

  // Extra per-state series /series/NAME: float64, [states] when width is 0, else [states, width].
  int add_series(const std::string& name, std::size_t width, const std::string& units,
                 const std::string& description);
  void append_series(int id, const std::vector<double>& row);
  // Snapshots every k steps: /snapshots/NAME [snapshots, width] float32; /snapshots/step says
  // which state each row is.
  int add_snapshot(const std::string& name, std::size_t width, const std::string& units,
                   const std::string& description);
  void append_snapshot(int id, const std::vector<float>& row);
  void mark_snapshot(Step step);
  void write_variants(const std::vector<model::VariantRow>& variants);
  void write_national(const std::vector<model::NationalEvent>& events,
                      const std::vector<std::string>& country_codes);
  // Writes a 1-D dataset under an existing or new group path, e.g. "/cities/capacity".
  void write_column(const std::string& path, const std::vector<double>& values,
                    const std::string& units, const std::string& description);

  // Closes the file and gives it its final name; `complete` is false for a run stopped early
  // (its series then end at the last step done, recorded in steps_done).
  void finish(double wall_seconds, bool complete = true);

  // Deferred: until resume(), appended rows are kept in memory and series and snapshots declared
  // are only numbered, so that no HDF5 call is made and the writer's other members are not
  // touched. The run's loop can then start while another thread still writes the cities and the
  // ties (write_header, write_cities, write_network). resume(), once they are written, creates
  // what was declared and replays the rows in their order: the file is the same bytes as
  // without deferring. Not with a checkpoint journal.
  void defer();
  void resume();
  bool deferred() const { return deferred_; }
  std::size_t deferred_bytes() { return deferred_ ? static_cast<std::size_t>(kept_.tellp()) : 0; }

  // Checkpointing: every append below is also recorded in `journal`, so that a resumed run can
  // replay the output it had written and go on to a file identical to an uninterrupted run's.
  void set_journal(std::ostream* journal) { journal_ = journal; }
  // Replays the records of a journal up to byte `end` (appends made in the same order and sizes).
  void replay_journal(std::istream& journal, std::uint64_t end, const std::string& name);

  const std::string& path() const { return path_; }
  const std::string& partial_path() const { return partial_; }

 private:
  // The events held, or only those that fill whole chunks of the columns, into `out`.
  void flush_events(h5::ChunkBatch& out, bool whole_chunks);
  void close_datasets();
  // Where an append is recorded: the rows kept while deferred, else the checkpoint journal if any.
  std::ostream* record_to() { return deferred_ ? &kept_ : journal_; }
  int declare(bool snapshot, const std::string& name, std::size_t width, const std::string& units,
              const std::string& description);
  int create_series(const std::string& name, std::size_t width, const std::string& units,
                    const std::string& description);
  int create_snapshot(const std::string& name, std::size_t width, const std::string& units,
                      const std::string& description);

  std::string path_;
  std::string partial_;
  const scenario::Scenario& scenario_;
  h5::Layout layout_;
  h5::Layout per_state_;  // datasets of a row per state or snapshot: no chunk longer than the run
  bool write_events_;
  h5::Handle file_;
  h5::AppendableDataset<double> time_;
  h5::AppendableDataset<std::int32_t> adopters_;
  h5::AppendableDataset<std::int32_t> ev_step_, ev_city_, ev_solution_, ev_source_, ev_layer_;
  h5::AppendableDataset<std::int8_t> ev_kind_, ev_mechanism_;
  h5::AppendableDataset<std::int32_t> ev_variant_;
  std::vector<h5::AppendableDataset<double>> extra_series_;
  std::vector<h5::AppendableDataset<float>> snapshots_;
  h5::AppendableDataset<std::int32_t> snapshot_step_;
  h5::Handle snapshot_group_;
  std::vector<model::Event> pending_;
  h5::ChunkBatch events_out_;  // whole chunks of events, filtered while the run goes on
  std::int32_t steps_written_ = -1;
  bool finished_ = false;
  bool volatile_metadata_ = true;
  std::ostream* journal_ = nullptr;
  // Deferred writing (defer()): the rows kept, in the journal's records, and what was declared.
  struct Declared {
    bool snapshot;
    std::string name;
    std::size_t width;
    std::string units, description;
  };
  bool deferred_ = false;
  std::stringstream kept_;
  std::vector<Declared> declared_;
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
