#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sweep/store.hpp"
#include "sweep/sweep.hpp"

namespace citynet::sweep {

// SIGINT and SIGTERM set this (to the signal number) instead of killing the process: runs in
// flight finish, no new run starts, the index is written. A second signal kills at once (what a
// killed run leaves is cleaned up on the next start).
void install_stop_handlers();
int stop_requested();

// Runs one run of the sweep to its file and records the outcome; never throws for a failure of
// the run itself (a bad parameter combination, an exception): that is recorded as "failed".
RunRecord execute_run(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                      std::int64_t index, int threads, std::int32_t rank);

// Counts and draws "runs done, failures, ETA" on stderr: a redrawn line on a terminal, a line
// every 10 % otherwise (batch logs).
class SweepProgress {
 public:
  SweepProgress(std::int64_t total, std::int64_t already_done, bool enabled, bool terminal);
  void add(bool ok);
  void add_counts(std::int64_t done, std::int64_t failed);
  void draw(bool force = false);
  void finish();
  std::int64_t failed() const { return failed_; }

 private:
  std::mutex mutex_;
  std::int64_t total_, base_, done_ = 0, failed_ = 0;
  bool enabled_, terminal_, drawn_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_;
};

// A thread-safe list of run indices still to hand out.
class RunQueue {
 public:
  explicit RunQueue(std::vector<std::int64_t> todo) : todo_(std::move(todo)) {}
  std::optional<std::int64_t> take();
  void close();
  bool closed() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> todo_;
  std::size_t next_ = 0;
  bool closed_ = false;
};

// `jobs` threads, each taking indices from `next` (which returns nullopt when there is no more
// work) and running them with `run`. `run` must not throw.
class WorkerPool {
 public:
  WorkerPool(int jobs, const std::function<std::optional<std::int64_t>()>& next,
             const std::function<void(std::int64_t)>& run);
  ~WorkerPool();
  void join();
  bool finished() const { return active_.load() == 0; }

 private:
  std::vector<std::thread> threads_;
  std::atomic<int> active_{0};
};

struct ExecutionPlan {
  int jobs = 1;             // concurrent runs in this process
  int threads_per_run = 1;  // TBB threads inside one run
  bool progress = true;
  bool terminal = false;
};

// Runs `todo` on this machine. Returns the number of runs that failed in this call.
std::int64_t run_local(const Sweep& sweep, const SweepDir& dir, const SweepState& state,
                       const std::vector<std::int64_t>& todo, std::int64_t already_done,
                       std::int64_t total, const ExecutionPlan& plan);

}  // namespace citynet::sweep
