#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cores.hpp"
#include "core/ids.hpp"
#include "model/cities.hpp"
#include "model/events.hpp"
#include "model/model.hpp"
#include "net/network.hpp"
#include "scenario/scenario.hpp"

namespace citynet::app {

struct Checkpoint;

struct RunOptions {
  std::string output;             // file to write; empty = no file
  std::uint64_t run_index = 0;    // with the scenario's seed, derives the run key
  std::int32_t threads = 0;       // recorded in the file; the caller limits TBB
  bool volatile_metadata = true;  // see io::RunFileWriter::Meta
  bool keep_series = true;        // keep /series in memory for the caller
  bool keep_events = false;       // keep every event in memory for the caller
  // Called after every step with (steps done, steps in all).
  std::function<void(Step, Step)> on_step;
  // Checked after every step: when it turns true (SIGINT, SIGTERM) the run stops at the end of
  // the step. The file is then kept, marked complete = 0 with the steps done, unless
  // keep_interrupted is false, in which case nothing is left.
  const std::atomic<bool>* stop = nullptr;
  bool keep_interrupted = true;
  // Checkpoints every this many steps (0: none) to checkpoint_path, with its journal beside it;
  // both are removed when the run completes.
  Step checkpoint_every = 0;
  std::string checkpoint_path;
  // Continue the run of this checkpoint instead of starting at state 0.
  const struct Checkpoint* resume = nullptr;
  // Called once the network is built, before the model: what-if experiments cut ties here.
  std::function<void(const model::CityTable&, net::Network&)> edit_network;
  // Called once the model is built, before the first state.
  std::function<void(model::Model&)> edit_model;
  // Called after the last step with the model, for measurements beyond the run result.
  std::function<void(const model::CityTable&, const net::Network&, const model::Model&)> on_finish;
  // The loop starts while the file's cities and ties are still being written, its rows kept in
  // memory until they are, up to this many bytes (0: the loop waits for them). Not with
  // checkpoints.
  std::size_t defer_limit_bytes = std::size_t{64} << 20;
  // Called on the writer's thread before each of its stages; tests hold the writer back with it.
  std::function<void()> before_writer_stage;
};

// Made by `citynet run` once it has limited TBB's threads and before it reads the scenario: a
// thread off the caller's core starts HDF5 (when the run writes a file), has TBB start its
// threads (which take its cores, so that none of them waits its turn on the caller's), and then
// keeps its core busy until the run's loop starts and its writer has begun, 20 ms at most. On
// 2-core virtual machines a core left idle for half a millisecond goes back to the host and
// takes 2-4 ms to return: TBB's thread, started with the run, then began the writer's stages
// 1.5-6 ms late in 41 of 100 runs of 10^4 cities, whose own time was 7.9 ms against 6.5. Started
// here, 96 runs of 100 had the stages on time, and the median run took 6.2 against 7.4 ms (the
// instrumented build of "Why the 10^4 figure swung" in docs/benchmarks.md). A run without a
// file waited the same way, its setup's loops on one thread: at 10^4 cities its own time went
// from 7.1-7.7 to 4.7-4.8 ms, its command from 11.7-12.5 to 9.4-9.8 ms (medians of 201, three
// batches). Given the output's path (`-o`), that thread creates the file too (io::create_ahead),
// before TBB's threads. After them, the loop kept over 20 states for a late writer in 41 of 201
// runs of 10^4 cities (6 without the file made ahead, in the same batch) and the command was no
// faster; before them, in 11 (against 9), and the median command took 13.92 against 14.28 ms
// (201 alternating runs). A file no run took is removed when the RunStart goes.
class RunStart {
 public:
  RunStart(int threads, bool writing, std::string output = {});
  RunStart(const RunStart&) = delete;
  RunStart& operator=(const RunStart&) = delete;
  ~RunStart();

 private:
  void spin();

  std::atomic<bool> stop_{false};
  std::string output_;
  std::unique_ptr<OffCoreThread> thread_;
};

struct PhaseTime {
  std::string name;
  double seconds;
};

struct RunResult {
  std::string output;  // where the file went ("" when none)
  CityId cities = 0;
  std::vector<std::int64_t> layer_ties;  // directed ties per layer
  std::vector<std::string> layers;
  std::vector<std::string> solutions;
  Step steps = 0;
  std::vector<double> time;                         // [state]
  std::vector<std::vector<std::int32_t>> adopters;  // [state][solution]
  std::vector<model::Event> events;
  std::int64_t event_count = 0;
  double setup_seconds = 0;  // loading data and building the network
  double step_seconds = 0;   // the step loop, its output included (not the cities and ties)
  double wall_seconds = 0;
  std::vector<PhaseTime> phases;
  // Memory held by the run's data: the tie arrays of all layers, the model's state, the city table.
  std::int64_t network_bytes = 0;
  std::int64_t state_bytes = 0;
  std::int64_t city_bytes = 0;
  bool interrupted = false;  // stopped early by RunOptions::stop
  Step steps_done = 0;
  // States recorded before the file's tables were written, kept in memory until they were.
  Step states_deferred = 0;

  const std::vector<std::int32_t>& final_adopters() const { return adopters.back(); }
};

// Loads the data, builds the network, runs every step and writes the file (when asked). Throws
// InputError for problems in the data the scenario names and RunError for failures while running.
RunResult run_scenario(const scenario::Scenario& scenario, const RunOptions& options);

}  // namespace citynet::app
