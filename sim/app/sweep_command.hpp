#pragma once

#include <string>
#include <vector>

namespace citynet::app {

// `citynet sweep ...` (docs/sweeps.md). `args` are the words after "sweep"; argc/argv are the
// whole command line, which MPI_Init needs under mpirun. Returns the exit code: 0 when every run
// of the sweep (or shard) is done, 1 when some failed or a run-time error stopped it, 2 for usage
// problems (printed here), 128 + N when stopped by signal N. Throws InputError for a bad sweep
// file or output directory and RunError for failures while running, as the other commands do.
int sweep_command(const std::vector<std::string>& args, int argc, char** argv);

}  // namespace citynet::app
