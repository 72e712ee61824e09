#include "sweep/mpi.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#if defined(CITYNET_HAVE_MPI)
#include <mpi.h>
#endif

namespace citynet::sweep {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  return std::atoi(v);
}

}  // namespace

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") ||
         std::getenv("PMIX_RANK") || std::getenv("MPI_LOCALNRANKS");
}

int launcher_world_size() {
  for (const char* n : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (int v = env_int(n); v > 0) return v;
  return 1;
}

int launcher_local_size() {
  for (const char* n : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMIX_LOCAL_SIZE",
                        "SLURM_NTASKS_PER_NODE"})
    if (int v = env_int(n); v > 0) return v;
  return 1;
}

#if defined(CITYNET_HAVE_MPI)

namespace {

constexpr int kTagRequest = 17;
constexpr int kTagReply = 18;
constexpr std::int64_t kRequest = 0;
constexpr std::int64_t kBye = 1;
constexpr std::int64_t kNoMore = -1;
// How long the coordinating thread sleeps between polls: short next to a run, and polling (not
// a blocking receive, which Open MPI spins in) leaves the core to the runs.
constexpr auto kPoll = std::chrono::milliseconds(2);

void wait_for(MPI_Request& req) {
  int done = 0;
  while (true) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(kPoll);
  }
}

// Worker threads of a rank other than 0 ask the rank's main thread for work; only the main
// thread talks MPI.
struct Mailbox {
  std::mutex mutex;
  std::condition_variable to_workers, to_main;
  int waiting = 0;
  std::deque<std::int64_t> assigned;
  bool closed = false;
  std::int64_t done = 0, failed = 0;  // since the last report to rank 0
};

}  // namespace

bool mpi_compiled() {
  return true;
}

MpiSession::MpiSession(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

int MpiSession::broadcast(int value) const {
  MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return value;
}

int MpiSession::min_all(int value) const {
  int out = value;
  MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return out;
}

std::int64_t run_mpi(const MpiSession& mpi, const Sweep& sweep, const SweepDir& dir,
                     const std::vector<std::int64_t>& todo, std::int64_t already_done,
                     std::int64_t total, const ExecutionPlan& plan) {
  const SweepState no_leftovers;  // rank 0 removed them before handing out work
  if (mpi.rank() == 0) {
    RunQueue queue(todo);
    SweepProgress progress(total, already_done, plan.progress, plan.terminal);
    std::atomic<std::int64_t> failed{0};
    progress.draw(true);
    WorkerPool pool(
        plan.jobs, [&] { return queue.take(); },
        [&](std::int64_t i) {
          const RunRecord r = execute_run(sweep, dir, no_leftovers, i, plan.threads_per_run, 0);
          if (r.status != "done") ++failed;
          progress.add(r.status == "done");
        });
    int byes = 0;
    while (byes < mpi.size() - 1 || !pool.finished()) {
      if (stop_requested()) queue.close();
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (!flag) {
        progress.draw();
        std::this_thread::sleep_for(kPoll);
        continue;
      }
      std::int64_t msg[3];
      MPI_Recv(msg, 3, MPI_INT64_T, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      failed += msg[2];
      progress.add_counts(msg[1], msg[2]);
      if (msg[0] == kBye) {
        ++byes;
        continue;
      }
      const std::int64_t reply = queue.take().value_or(kNoMore);
      MPI_Send(&reply, 1, MPI_INT64_T, st.MPI_SOURCE, kTagReply, MPI_COMM_WORLD);
    }
    pool.join();
    progress.draw(true);
    progress.finish();
    return failed.load();
  }

  Mailbox box;
  std::int64_t failed_here = 0;
  WorkerPool pool(
      plan.jobs,
      [&]() -> std::optional<std::int64_t> {
        std::unique_lock<std::mutex> lock(box.mutex);
        ++box.waiting;
        box.to_main.notify_one();
        box.to_workers.wait(lock, [&] { return !box.assigned.empty() || box.closed; });
        --box.waiting;
        if (box.assigned.empty()) return std::nullopt;
        const std::int64_t i = box.assigned.front();
        box.assigned.pop_front();
        return i;
      },
      [&](std::int64_t i) {
        const RunRecord r =
            execute_run(sweep, dir, no_leftovers, i, plan.threads_per_run, mpi.rank());
        std::lock_guard<std::mutex> lock(box.mutex);
        (r.status == "done" ? box.done : box.failed) += 1;
        if (r.status != "done") ++failed_here;
      });
  auto take_counts = [&](std::int64_t type) {
    std::lock_guard<std::mutex> lock(box.mutex);
    std::array<std::int64_t, 3> msg{type, box.done, box.failed};
    box.done = box.failed = 0;
    return msg;
  };
  while (true) {
    {
      std::unique_lock<std::mutex> lock(box.mutex);
      box.to_main.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return box.waiting > static_cast<int>(box.assigned.size()) || stop_requested();
      });
      if (stop_requested() || box.waiting <= static_cast<int>(box.assigned.size())) {
        if (!stop_requested()) continue;
        box.closed = true;
        box.to_workers.notify_all();
        break;
      }
    }
    auto msg = take_counts(kRequest);
    MPI_Request req;
    MPI_Isend(msg.data(), 3, MPI_INT64_T, 0, kTagRequest, MPI_COMM_WORLD, &req);
    wait_for(req);
    std::int64_t reply = kNoMore;
    MPI_Irecv(&reply, 1, MPI_INT64_T, 0, kTagReply, MPI_COMM_WORLD, &req);
    wait_for(req);
    std::lock_guard<std::mutex> lock(box.mutex);
    if (reply == kNoMore) {
      box.closed = true;
      box.to_workers.notify_all();
      break;
    }
    box.assigned.push_back(reply);
    box.to_workers.notify_all();
  }
  pool.join();
  // Rank 0 waits for this: it writes the index only when no run is in flight anywhere.
  auto bye = take_counts(kBye);
  MPI_Request req;
  MPI_Isend(bye.data(), 3, MPI_INT64_T, 0, kTagRequest, MPI_COMM_WORLD, &req);
  wait_for(req);
  return failed_here;
}

#else

bool mpi_compiled() {
  return false;
}

MpiSession::MpiSession(int&, char**&) {
  throw std::logic_error("citynet was built without MPI");
}
MpiSession::~MpiSession() = default;
int MpiSession::broadcast(int value) const {
  return value;
}
int MpiSession::min_all(int value) const {
  return value;
}

std::int64_t run_mpi(const MpiSession&, const Sweep&, const SweepDir&,
                     const std::vector<std::int64_t>&, std::int64_t, std::int64_t,
                     const ExecutionPlan&) {
  throw std::logic_error("citynet was built without MPI");
}

#endif

}  // namespace citynet::sweep
