#include "app/run.hpp"

#include <unistd.h>

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "app/checkpoint.hpp"
#include "core/cores.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "io/hdf5.hpp"
#include "io/run_file.hpp"
#include "model/cities.hpp"
#include "model/model.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"

namespace citynet::app {

namespace {

// Set when a writer starts a stage, and when a run's loop starts: RunStart's thread has then done
// its part.
std::atomic<bool> g_stage_started{false};
std::atomic<bool> g_loop_started{false};

// Writes what a run file holds before its first step while the caller sets the run up: it opens
// the file and writes what the scenario alone says while the cities load, the cities while the
// network is built, the network while the model is made. HDF5's start-up and these tables cost
// milliseconds that the setup, busy on the other threads, would otherwise wait for; at 10^4
// cities they were most of the writing. The file is the same.
//
// The writing goes in stages, run in order and one at a time. When the run leaves a core free
// (fewer threads than cores), they run on a thread of their own. When the run's threads take
// every core, they run as TBB tasks on those threads: a thread of their own made three threads
// for two cores, and the setup's parallel loops waited at each join for whichever thread the
// writer had pushed off its core. At 10^5 cities on 2 cores writing added 7.2 and 10.2 ms as
// tasks against 10.2 and 12.9 ms with a thread of its own, at 10^4 2.3 and 4.1 against 4.1 and
// 4.6 ms (two batches of 41-61 alternating runs).
//
// Whichever thread runs the stages is kept off the core of the thread that made the writer (the
// run's own) until the run ends. On 2-core virtual machines a core idle for half a millisecond goes
// back to the host and takes 2-4 ms to return, and meanwhile Linux put the writer's thread on the
// run's core, where the two took turns: in 28-32 of 100 runs of 10^4 cities the stages ran
// there, and those runs took 9.6-10.0 ms (median, run start to end) against 6.7-6.8. Kept off
// it, the writer waits for its own core instead: no run shared one, and the 90th percentile of
// the command's time fell from 14.4-16.3 to 13.0-14.5 ms (three batches of 201 alternating runs;
// the median was unchanged).
class BackgroundStart {
 public:
  BackgroundStart(const std::string& path, const scenario::Scenario& scenario,
                  const io::RunFileWriter::Meta& meta, std::function<void()> before_stage)
      : before_stage_(std::move(before_stage)) {
    check_directory(path);
    writer_ = std::make_unique<io::RunFileWriter>(path, scenario, io::RunFileWriter::Unopened{});
    const auto threads =
        tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
    if (threads < static_cast<std::size_t>(tbb::info::default_concurrency()))
      thread_ = std::thread([this] { serve(); });
    submit([this, meta] {
      writer_->open();
      opened_ = true;
      writer_->write_header(meta);
    });
  }
  BackgroundStart(const BackgroundStart&) = delete;
  BackgroundStart& operator=(const BackgroundStart&) = delete;
  // A writer not handed all its tables (the setup threw) ends with the stages it was given, and
  // its partial file goes with it.
  ~BackgroundStart() { finish_stages(); }

  // Each table must stay as it is until take() returns or the writer is destroyed.
  void write_cities(const model::CityTable& cities) {
    submit([this, &cities] { writer_->write_cities(cities); });
  }
  void write_network(const net::Network& network) {
    submit([this, &network] { writer_->write_network(network); });
  }
  void write_variants(std::vector<model::VariantRow> variants) {
    submit([this, variants = std::move(variants)] { writer_->write_variants(variants); });
  }
  // No stage comes after those submitted: the writer's own thread ends when they are done. Told
  // only at take(), a thread asleep since its last stage had to be woken to end, ~2 ms on these
  // machines. The last stage writes out HDF5's metadata for all written so far, which the close
  // would otherwise write: at 10^4 cities the close took 0.22-0.40 against 0.29-0.46 ms (its
  // flush 0.04-0.07 against 0.10-0.17, H5Fclose up to 0.05 longer).
  void end_stages() {
    submit([this] { writer_->flush(); });
    {
      std::lock_guard lock(mutex_);
      ending_ = true;
    }
    if (thread_.joinable()) posted_.notify_one();
  }
  // Whether every stage submitted is done, without waiting.
  bool done() {
    note_caller_core();
    std::lock_guard lock(mutex_);
    return stages_.empty() && !draining_;
  }
  // The writer, for the caller's thread to defer() while the stages run: its deferred state and
  // what the stages write are apart (io::RunFileWriter::defer).
  io::RunFileWriter& deferred_writer() {
    writer_->defer();
    return *writer_;
  }
  // The writer, once every stage is done. An error of creating the file is rethrown as it is,
  // one of writing to it through `writing`, as for what the caller writes.
  template <class Writing>
  std::unique_ptr<io::RunFileWriter> take(const Writing& writing) {
    finish_stages();
    io::h5::quiet_errors();  // HDF5's error printing is set per thread
    if (error_ && !opened_) std::rethrow_exception(error_);
    if (error_) writing([&] { std::rethrow_exception(error_); });
    return std::move(writer_);
  }

 private:
  // A directory that is missing or not writable is reported at once, not after the setup.
  static void check_directory(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const std::string dir = parent.empty() ? "." : parent.string();
    if (::access(dir.c_str(), W_OK) != 0)
      throw RunError("cannot create the output file " + path +
                     " (check that its directory exists and is writable)");
  }
  // Where the run's own thread is: it submits every stage and, while the loop waits for the
  // writer, asks done() each step, so a drain that starts late reads where it is now.
  void note_caller_core() { caller_core_.store(current_core(), std::memory_order_relaxed); }
  void submit(std::function<void()> stage) {
    note_caller_core();
    bool start = false;
    {
      std::lock_guard lock(mutex_);
      stages_.push_back(std::move(stage));
      start = !draining_;
      draining_ = true;
    }
    if (thread_.joinable())
      posted_.notify_one();
    else if (start)
      tasks_.run([this] { drain(); });
  }
  // Runs the stages waiting, in order, until there are none; a stage submitted later starts a
  // new drain.
  void drain() {
    moved_.move_self_off(caller_core_.load(std::memory_order_relaxed));
    std::unique_lock lock(mutex_);
    while (!stages_.empty()) {
      std::function<void()> stage = std::move(stages_.front());
      stages_.pop_front();
      lock.unlock();
      run(stage);
      lock.lock();
    }
    draining_ = false;
  }
  // The writer's own thread: drains whenever stages come, until told to end.
  void serve() {
    std::unique_lock lock(mutex_);
    for (;;) {
      posted_.wait(lock, [this] { return draining_ || ending_; });
      if (!draining_) return;
      lock.unlock();
      drain();
      lock.lock();
    }
  }
  // After a failed stage nothing more is written. HDF5 keeps a failed call's error stack per
  // thread, its strings included, and frees it only when cleared: each stage clears its
  // thread's, whichever thread ran it.
  void run(const std::function<void()>& stage) {
    if (error_) return;
    io::h5::quiet_errors();
    try {
      if (before_stage_) before_stage_();
      g_stage_started.store(true, std::memory_order_relaxed);
      stage();
    } catch (...) {
      error_ = std::current_exception();
    }
    H5Eclear2(H5E_DEFAULT);
  }
  void finish_stages() {
    if (thread_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        ending_ = true;
      }
      posted_.notify_one();
      thread_.join();
    } else {
      tasks_.wait();
      std::lock_guard lock(mutex_);  // the stages' writes, as ThreadSanitizer sees them too
    }
  }
  std::function<void()> before_stage_;
  std::atomic<int> caller_core_{-1};
  // Destroyed after the destructor has waited for the stages: the threads they moved get their
  // cores back then.
  CoreExclusions moved_;
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> stages_;
  bool draining_ = false;
  bool ending_ = false;
  bool opened_ = false;
  std::unique_ptr<io::RunFileWriter> writer_;
  std::exception_ptr error_;
  tbb::task_group tasks_;
  std::thread thread_;
};

}  // namespace

RunStart::RunStart(int threads, bool writing, std::string output)
    : output_(writing ? std::move(output) : std::string()) {
  g_stage_started.store(!writing, std::memory_order_relaxed);
  g_loop_started.store(false, std::memory_order_relaxed);
  if (threads < 2 && !writing) return;  // no thread to start, none to wait for
  if (!output_.empty()) io::announce_ahead(output_);
  try {
    thread_ = std::make_unique<OffCoreThread>(current_core(), [this, threads, writing] {
      if (writing) io::h5::start_library();
      if (!output_.empty()) io::create_ahead(output_);
      if (threads > 1) {
        tbb::task_group started;
        started.run([] {});
        started.wait();
      }
      spin();
    });
  } catch (...) {
    if (!output_.empty()) io::discard_ahead(output_);
    throw;
  }
}

void RunStart::spin() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  while (!(g_stage_started.load(std::memory_order_relaxed) &&
           g_loop_started.load(std::memory_order_relaxed)) &&
         !stop_.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
}

RunStart::~RunStart() {
  stop_.store(true, std::memory_order_relaxed);
  thread_.reset();  // joins
  if (!output_.empty()) io::discard_ahead(output_);
}

RunResult run_scenario(const scenario::Scenario& scenario, const RunOptions& options) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const std::uint64_t key = rng::run_key(scenario.seed, options.run_index);

  // Declared before the writer, so that its thread is done with them before they go.
  model::CityTable cities;
  net::Network network;
  std::optional<BackgroundStart> opening;
  if (!options.output.empty())
    opening.emplace(options.output, scenario,
                    io::RunFileWriter::Meta{scenario.seed, options.run_index, options.threads,
                                            options.volatile_metadata},
                    options.before_writer_stage);
  cities = model::load_cities(scenario, key);
  if (opening) opening->write_cities(cities);
  network = net::build_network(scenario, cities, key);
  if (options.edit_network) options.edit_network(cities, network);
  if (opening) opening->write_network(network);
  auto model = model::make_model(scenario, cities, network, key);
  model::Model& engine = *model;
  if (options.edit_model) options.edit_model(engine);
  // Variants known from the start are written with the setup's tables, not at the close.
  const bool variants_early = opening && engine.variants_fixed();
  if (opening) {
    if (variants_early) opening->write_variants(engine.variants());
    opening->end_stages();
  }

  RunResult result;
  result.cities = cities.size();
  for (const auto& l : network.layers) {
    result.layers.push_back(l.name);
    result.layer_ties.push_back(l.edge_count());
    result.network_bytes += l.bytes();
  }
  result.state_bytes = engine.state_bytes();
  result.city_bytes = cities.bytes();
  for (const auto& s : scenario.solutions) result.solutions.push_back(s.name);
  result.steps = scenario.time.steps;

  // Writing is timed apart from the setup, the cities and ties included: at 10^6 cities they
  // cost more than building them.
  const auto t1 = clock::now();
  PhaseTimers& timers = engine.timers();
  const int phase_write = timers.add("write");
  // A write that fails is most often a full disk; the writer removes its partial file.
  auto writing = [&](auto&& write) {
    try {
      write();
    } catch (const RunError& e) {
      throw RunError("cannot write " + options.output + ": " + e.what() +
                     " (is the disk full?); no file was left under that name");
    }
  };
  // `out` is where the run's rows go: the writer once taken, or before that the writer deferred
  // (the loop does not wait for the cities and ties to be written, on a small run as long as the
  // setup's last stage).
  std::unique_ptr<io::RunFileWriter> writer;
  io::RunFileWriter* out = nullptr;
  auto take = [&] {
    writer = opening->take(writing);
    writing([&] { writer->resume(); });
    out = writer.get();
  };
  if (opening) {
    PhaseTimers::Scope t(timers, phase_write);
    const bool may_defer =
        options.defer_limit_bytes > 0 && options.checkpoint_every == 0 && !options.resume;
    if (may_defer && !opening->done())
      out = &opening->deferred_writer();
    else
      take();
    writing([&] { engine.declare_output(*out); });
  }
  const auto t_loop = clock::now();
  g_loop_started.store(true, std::memory_order_relaxed);

  auto record = [&](const std::vector<model::Event>& events) {
    result.event_count += static_cast<std::int64_t>(events.size());
    if (options.keep_events)
      result.events.insert(result.events.end(), events.begin(), events.end());
    if (options.keep_series) {
      result.time.push_back(engine.time());
      result.adopters.push_back(engine.adopters());
    }
    if (out) {
      PhaseTimers::Scope t(timers, phase_write);
      writing([&] {
        out->append_events(events);
        out->append_state(engine.time(), engine.adopters());
        engine.write_state(*out);
      });
      if (out->deferred()) {
        ++result.states_deferred;
        if (opening->done() || out->deferred_bytes() > options.defer_limit_bytes) take();
      }
    }
  };

  // Checkpoints: the journal records the output as it is appended; a resumed run replays it up
  // to the checkpoint into its new file, then loads the model's state and goes on.
  std::unique_ptr<std::ofstream> journal;
  const bool checkpointing = options.checkpoint_every > 0 && writer;
  const std::string journal_file = journal_path(options.checkpoint_path);
  Step first = 0;
  if (options.resume) {
    const Checkpoint& ck = *options.resume;
    if (writer) {
      std::ifstream in(journal_path(options.checkpoint_path), std::ios::binary);
      if (!in)
        throw InputError(Location{options.checkpoint_path, 0, 0}, "",
                         "its journal " + journal_path(options.checkpoint_path) + " is missing");
      writer->replay_journal(in, ck.journal_end, journal_path(options.checkpoint_path));
    }
    std::istringstream state(ck.model_state);
    engine.load_state(state, options.checkpoint_path);
    first = ck.step;
    result.event_count = ck.event_count;
    result.steps_done = ck.step;
    if (checkpointing) {
      std::filesystem::resize_file(journal_file, ck.journal_end);
      journal = std::make_unique<std::ofstream>(journal_file, std::ios::binary | std::ios::app);
    }
  } else if (checkpointing) {
    journal = std::make_unique<std::ofstream>(journal_file, std::ios::binary | std::ios::trunc);
  }
  if (checkpointing) {
    if (!*journal) throw RunError("cannot write the checkpoint journal " + journal_file);
    writer->set_journal(journal.get());
  }
  auto checkpoint = [&](Step done) {
    journal->flush();
    if (!*journal) throw RunError("cannot write the checkpoint journal " + journal_file);
    Checkpoint ck;
    ck.scenario_yaml = scenario.resolved_yaml;
    ck.scenario_name = scenario.source_file;
    ck.run_index = options.run_index;
    ck.volatile_metadata = options.volatile_metadata;
    ck.output = options.output;
    ck.step = done;
    ck.journal_end = static_cast<std::uint64_t>(journal->tellp());
    ck.event_count = result.event_count;
    std::ostringstream state;
    engine.save_state(state);
    ck.model_state = state.str();
    write_checkpoint(options.checkpoint_path, ck);
  };

  if (!options.resume) record(engine.initialise());
  for (Step k = first; k < scenario.time.steps; ++k) {
    if (options.stop && options.stop->load()) {
      result.interrupted = true;
      break;
    }
    record(engine.step());
    ++result.steps_done;
    if (checkpointing && (k + 1) % options.checkpoint_every == 0 && k + 1 < scenario.time.steps)
      checkpoint(k + 1);
    if (options.on_step) options.on_step(k + 1, scenario.time.steps);
  }
  if (!options.keep_series) {
    result.time.push_back(engine.time());
    result.adopters.push_back(engine.adopters());
  }
  if (out && out->deferred()) {
    PhaseTimers::Scope t(timers, phase_write);
    take();
  }
  if (options.on_finish) options.on_finish(cities, network, engine);
  const auto t2 = clock::now();
  result.setup_seconds = std::chrono::duration<double>(t1 - t0).count();
  result.step_seconds = std::chrono::duration<double>(t2 - t_loop).count();
  result.wall_seconds = std::chrono::duration<double>(t2 - t0).count();
  const bool closing = writer && (!result.interrupted || options.keep_interrupted);
  if (closing) {
    // Closing the file (final tables, buffered rows, flush) is writing too; the run's time as
    // reported includes it, the one in the file cannot.
    PhaseTimers::Scope t(timers, phase_write);
    writing([&] {
      engine.write_final(*writer);
      if (!variants_early) writer->write_variants(engine.variants());
      if (journal) {
        writer->set_journal(nullptr);
        journal.reset();
      }
    });
  }
  for (std::size_t i = 0; i < timers.names().size(); ++i)
    result.phases.push_back({timers.names()[i], timers.seconds()[i]});
  if (closing) {
    // The model, the network and the cities are freed on another thread while the file closes:
    // at 10^4 cities unmapping them took 0.2 ms, a third of the close.
    const auto t_close = clock::now();
    BackgroundTask release;
    release.run([&] {
      model.reset();
      network = net::Network{};
      cities = model::CityTable{};
    });
    writing([&] { writer->finish(result.wall_seconds, !result.interrupted); });
    const double close_s = std::chrono::duration<double>(clock::now() - t_close).count();
    release.wait();
    result.phases[static_cast<std::size_t>(phase_write)].seconds += close_s;
    result.wall_seconds = std::chrono::duration<double>(clock::now() - t0).count();
    result.output = writer->path();
    if ((checkpointing || options.resume) && !result.interrupted) {
      std::error_code ec;
      std::filesystem::remove(options.checkpoint_path, ec);
      std::filesystem::remove(journal_file, ec);
    }
  }
  return result;
}

}  // namespace citynet::app
