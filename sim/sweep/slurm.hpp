#pragma once

#include <string>

#include "sweep/sweep.hpp"

namespace citynet::sweep {

// What the generated job-array script needs: everything else is in the template.
struct SlurmSettings {
  std::string citynet;     // absolute path of the citynet binary the tasks run
  std::string sweep_file;  // absolute
  std::string out_dir;     // absolute
  std::string script;      // where the script goes (for its own usage notes)
  int shards = 1;
  int cpus = 1;  // per array task; the task runs that many runs at once, one thread each
  std::string time = "04:00:00";
  std::string merge_time = "00:30:00";
  std::string mem = "4G";
  std::string partition;  // empty: the cluster's default
  std::string account;
};

// The cluster profile template compiled in (a copy of config/slurm.sbatch.in).
const std::string& builtin_slurm_template();

// Fills `template_text`'s @NAME@ placeholders. The script runs shard K of N as array task K
// (`--array=0-(N-1)`) and, when started with `bash` rather than `sbatch`, submits the array and a
// dependent merge job.
std::string slurm_script(const std::string& template_text, const Sweep& sweep,
                         const SlurmSettings& settings);

std::string shell_quote(const std::string& s);

}  // namespace citynet::sweep
