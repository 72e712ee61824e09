#include "sweep/runner.hpp"

#include <tbb/task_arena.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <thread>

#include "app/run.hpp"
#include "scenario/loader.hpp"

namespace citynet::sweep {
namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop != 0) {
    // Second signal: the user means it.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop = sig;
}

std::string one_line(const InputError& e) {
  std::string out;
  for (const auto& d : e.diagnostics()) out += (out.empty() ? "" : "; ") + d.format();
  return out;
}

std::string duration_text(double s) {
  char buf[64];
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 5400)
    std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60));
  else
    std::snprintf(buf, sizeof buf, "%.0fh%02.0fm", std::floor(s / 3600),
                  std::floor(std::fmod(s, 3600) / 60));
  return buf;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int stop_requested() {
  return g_stop;
}

RunRecord execute_run(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                      std::int64_t index, int threads, std::int32_t rank) {
  RunRecord rec;
  rec.index = index;
  rec.threads = threads;
  rec.host = this_host();
  rec.pid = ::getpid();
  rec.rank = rank;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dir.remove_leftovers(index, state);
    dir.mark_running(index, rank);
    const scenario::Scenario sc =
        scenario::load_scenario_file(sweep.scenario_file, sweep.overrides(index));
    app::RunOptions options;
    options.output = dir.run_file(index);
    options.run_index = static_cast<std::uint64_t>(index);
    options.threads = threads;
    options.volatile_metadata = false;
    options.keep_series = false;
    tbb::task_arena arena(threads);
    arena.execute([&] { app::run_scenario(sc, options); });
    rec.status = "done";
  } catch (const InputError& e) {
    rec.status = "failed";
    rec.message = one_line(e);
  } catch (const std::exception& e) {
    rec.status = "failed";
    rec.message = e.what();
  }
  rec.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  try {
    dir.write_record(rec);
    dir.clear_running(index);
  } catch (const std::exception& e) {
    // The run file (when done) is what counts; a missing record only loses the wall time.
    std::fprintf(stderr, "citynet: warning: run %lld: %s\n", static_cast<long long>(index),
                 e.what());
  }
  return rec;
}

SweepProgress::SweepProgress(std::int64_t total, std::int64_t already_done, bool enabled,
                             bool terminal)
    : total_(total),
      base_(already_done),
      enabled_(enabled),
      terminal_(terminal),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void SweepProgress::add(bool ok) {
  add_counts(ok ? 1 : 0, ok ? 0 : 1);
}

void SweepProgress::add_counts(std::int64_t done, std::int64_t failed) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ += done;
    failed_ += failed;
  }
  draw();
}

void SweepProgress::draw(bool force) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const std::int64_t finished = base_ + done_ + failed_;
  const double rate = elapsed > 0 ? static_cast<double>(done_ + failed_) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - finished) / rate : 0;
  if (terminal_) {
    if (!force && std::chrono::duration<double>(now - last_).count() < 0.2 && drawn_) return;
    constexpr int kWidth = 30;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * finished / total_) : kWidth;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\rsweep [%s] %lld/%lld runs, %lld failed, %.1f runs/min, ETA %s   ",
                 bar.c_str(), static_cast<long long>(finished), static_cast<long long>(total_),
                 static_cast<long long>(failed_), rate * 60,
                 rate > 0 ? duration_text(eta).c_str() : "?");
    std::fflush(stderr);
    drawn_ = true;
    last_ = now;
    return;
  }
  // Batch logs: a line at each tenth of the way, nothing in between.
  const int decile = total_ > 0 ? static_cast<int>(10 * finished / total_) : 10;
  if (last_decile_ < 0) last_decile_ = decile;
  if (decile == last_decile_) return;
  last_decile_ = decile;
  std::fprintf(stderr, "citynet: sweep: %lld/%lld runs, %lld failed, %.1f runs/min, ETA %s\n",
               static_cast<long long>(finished), static_cast<long long>(total_),
               static_cast<long long>(failed_), rate * 60,
               rate > 0 ? duration_text(eta).c_str() : "?");
}

void SweepProgress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

std::optional<std::int64_t> RunQueue::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || stop_requested() || next_ >= todo_.size()) return std::nullopt;
  return todo_[next_++];
}

void RunQueue::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
}

bool RunQueue::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

WorkerPool::WorkerPool(int jobs, const std::function<std::optional<std::int64_t>()>& next,
                       const std::function<void(std::int64_t)>& run) {
  active_ = jobs;
  for (int j = 0; j < jobs; ++j)
    threads_.emplace_back([this, next, run] {
      while (auto i = next()) run(*i);
      --active_;
    });
}

WorkerPool::~WorkerPool() {
  join();
}

void WorkerPool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::int64_t run_local(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                       const std::vector<std::int64_t>& todo, std::int64_t already_done,
                       std::int64_t total, const ExecutionPlan& plan) {
  RunQueue queue(todo);
  SweepProgress progress(total, already_done, plan.progress, plan.terminal);
  std::atomic<std::int64_t> failed{0};
  progress.draw(true);
  {
    WorkerPool pool(
        std::max(1, std::min<int>(plan.jobs, static_cast<int>(todo.size()))),
        [&] { return queue.take(); },
        [&](std::int64_t i) {
          const RunRecord r = execute_run(sweep, dir, state, i, plan.threads_per_run, -1);
          if (r.status != "done") ++failed;
          progress.add(r.status == "done");
        });
    pool.join();
  }
  progress.draw(true);
  progress.finish();
  return failed.load();
}

}  // namespace citynet::sweep
