#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sweep/sweep.hpp"

namespace citynet::sweep {

// What happened to one run, kept as a small file DIR/records/run-NNNNNN.yaml written atomically
// (temporary name, then rename), so the state of a sweep survives any kill and shards on other
// machines need no shared index.
struct RunRecord {
  std::int64_t index = 0;
  std::string status;   // "done" or "failed"
  std::string message;  // why it failed
  double wall_seconds = 0;
  std::int32_t threads = 0;
  std::string host;
  std::int64_t pid = 0;
  std::int32_t rank = -1;  // MPI rank, -1 outside MPI
};

// A run in flight: DIR/records/run-NNNNNN.running names the host and process.
struct RunningMark {
  std::int64_t index = 0;
  std::string host;
  std::int64_t pid = 0;
  bool stale = false;  // on this host and its process is gone
};

// The state of every run, read from the directory in one pass.
struct SweepState {
  std::set<std::int64_t> finished_files;  // DIR/runs/run-N.h5 exists (written by rename: complete)
  std::map<std::int64_t, RunRecord> records;
  std::map<std::int64_t, RunningMark> running;
  std::map<std::int64_t, std::vector<std::string>> partial_files;

  bool done(std::int64_t i) const { return finished_files.count(i) > 0; }
  bool failed(std::int64_t i) const {
    auto it = records.find(i);
    return !done(i) && it != records.end() && it->second.status == "failed";
  }
};

// The output directory of a sweep:
//   DIR/sweep.yaml        what the directory holds (the resolved sweep and its fingerprint)
//   DIR/sweep.h5          the index (rank 0, local runs and --merge write it)
//   DIR/runs/             one run file per run
//   DIR/records/          one status record per finished or failed run, and marks of runs in flight
//   DIR/shards/           the index fragment of each shard
class SweepDir {
 public:
  explicit SweepDir(std::string root);
  const std::string& root() const { return root_; }

  std::string run_name(std::int64_t i) const;  // "run-000042"
  std::string run_file_relative(std::int64_t i) const { return "runs/" + run_name(i) + ".h5"; }
  std::string run_file(std::int64_t i) const { return root_ + "/" + run_file_relative(i); }
  std::string index_file() const { return root_ + "/sweep.h5"; }
  std::string shard_index_file(int shard, int shards) const;
  std::string state_file() const { return root_ + "/sweep.yaml"; }

  // Creates the directory and records which sweep it holds; refuses (InputError) a directory that
  // holds a different sweep.
  void claim(const Sweep& sweep) const;
  // The sweep recorded in the directory (for --status and --merge). InputError when there is none.
  Sweep load() const;

  SweepState scan() const;

  void write_record(const RunRecord& r) const;
  void mark_running(std::int64_t i, std::int32_t rank) const;
  void clear_running(std::int64_t i) const;
  // Removes what a killed run of `i` left: partial run files and a stale in-flight mark.
  void remove_leftovers(std::int64_t i, const SweepState& state) const;

  // One writer at a time: a whole sweep (local or MPI rank 0) takes the directory exclusively;
  // shards share it but each shard number is exclusive. Throws RunError naming the holder.
  class Lock {
   public:
    Lock() = default;
    Lock(Lock&& o) noexcept : fds_(std::move(o.fds_)) { o.fds_.clear(); }
    Lock& operator=(Lock&&) = delete;
    ~Lock();

   private:
    friend class SweepDir;
    std::vector<int> fds_;
  };
  Lock lock_whole() const;
  Lock lock_shard(int shard, int shards) const;

 private:
  std::string root_;
};

std::string this_host();

}  // namespace citynet::sweep
