#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sweep/runner.hpp"
#include "sweep/store.hpp"
#include "sweep/sweep.hpp"

namespace citynet::sweep {

// True when this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH,
// srun with PMI or PMIx), read from the environment the launcher sets.
bool launched_by_mpi();
// The number of processes the launcher started (1 when not under MPI), from the environment.
int launcher_world_size();
// Processes of this job on this machine (to split its cores), from the environment; 1 if unknown.
int launcher_local_size();

// True when citynet was built with MPI (CMake found it; -DCITYNET_WITH_MPI=ON, the default).
bool mpi_compiled();

// MPI_Init on construction and MPI_Finalize on destruction. Only `citynet sweep` under an MPI
// launcher creates one, so every other command and a plain sweep never touch MPI.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Every rank gets rank 0's `value`.
  int broadcast(int value) const;
  // The smallest `value` over all ranks.
  int min_all(int value) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Runs the sweep over the ranks with dynamic scheduling: rank 0 keeps the list of runs to do and
// hands out one index per request; every rank (rank 0 included, from its own worker threads)
// asks for the next run as soon as one of its workers is free, so a fast rank never waits on a
// slow one's queue. `todo` matters on rank 0 only. Each rank writes its own run files and records;
// returns, on rank 0, when every rank has finished its runs in flight.
// Returns the failures rank 0 heard of (rank 0), or of this rank (others).
std::int64_t run_mpi(const MpiSession& mpi, const Sweep& sweep, const SweepDir& dir,
                     const std::vector<std::int64_t>& todo, std::int64_t already_done,
                     std::int64_t total, const ExecutionPlan& plan);

}  // namespace citynet::sweep
