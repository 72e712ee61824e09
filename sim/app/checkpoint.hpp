#pragma once

#include <cstdint>
#include <string>

#include "core/ids.hpp"

namespace citynet::app {

// A run's checkpoint (`citynet run --checkpoint-every N`): the resolved scenario, where the run
// stood, the model's state, and how far the journal of the output it had written reaches. With
// the journal (PATH.journal) it lets `citynet run --resume PATH` continue to a file identical to
// that of an uninterrupted run.
struct Checkpoint {
  std::string scenario_yaml;  // the resolved scenario (data_dir absolute or <built-in>)
  std::string scenario_name;  // what errors call it
  std::uint64_t run_index = 0;
  bool volatile_metadata = true;
  std::string output;  // the run file being written
  Step step = 0;       // states done: the next step computes state step + 1
  std::uint64_t journal_end = 0;
  std::int64_t event_count = 0;
  std::string model_state;
};

// Syncs the run's journal (journal_path(PATH), flushed by the caller) to the disk, then writes
// PATH.tmp, syncs it and renames it: a checkpoint on disk is always whole, and survives the
// machine going down, not only the process, with the output it counts on.
void write_checkpoint(const std::string& path, const Checkpoint& c);
// fsync(2) of the file at `path`; RunError naming `what` if the disk refuses.
void sync_to_disk(const std::string& path, const std::string& what);
// Throws InputError naming the file when it is missing, not a checkpoint, or damaged.
Checkpoint read_checkpoint(const std::string& path);
std::string journal_path(const std::string& checkpoint_path);

}  // namespace citynet::app
