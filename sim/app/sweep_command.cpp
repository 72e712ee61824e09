#include "app/sweep_command.hpp"

#include <sys/stat.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "app/progress.hpp"
#include "core/error.hpp"
#include "sweep/index.hpp"
#include "sweep/mpi.hpp"
#include "sweep/runner.hpp"
#include "sweep/slurm.hpp"
#include "sweep/store.hpp"
#include "sweep/sweep.hpp"

namespace citynet::app {
namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace citynet::sweep;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char* kUsage = R"(Usage:
  citynet sweep SWEEP.yaml --out DIR [--threads N] [--jobs J]   run on this machine
  mpirun -n P citynet sweep SWEEP.yaml --out DIR                across MPI ranks
  citynet sweep SWEEP.yaml --out DIR --shard K/N                one shard of a job array
  citynet sweep SWEEP.yaml --out DIR --emit-slurm FILE.sbatch   write a Slurm job-array script
  citynet sweep --status DIR                                    done / running / failed / todo
  citynet sweep --merge DIR                                     rebuild DIR/sweep.h5
  citynet sweep SWEEP.yaml --check                              validate, list the runs, run nothing
)";

const char* kAfterHelp = R"(
Rerunning the same command finishes only what is missing (runs killed half-way are redone).
SIGINT/SIGTERM stop after the runs in flight and write the index. See docs/sweeps.md.
Exit codes: 0 every run done; 1 some runs failed (see --status); 2 bad input or usage;
128+N stopped by signal N.
)";

struct Usage {
  std::string message;
};

std::string absolute(const std::string& p) {
  std::error_code ec;
  const auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string self_path() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("citynet") : p.string();
}

std::pair<int, int> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    std::size_t a = 0, b = 0;
    const int k = std::stoi(text.substr(0, slash), &a);
    const int n = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1 || n < 1 || k < 0 || k >= n)
      throw std::invalid_argument(text);
    return {k, n};
  } catch (const std::exception&) {
    throw Usage{"--shard takes K/N with 0 <= K < N, e.g. --shard 0/4; got '" + text + "'"};
  }
}

std::vector<std::int64_t> scope_of(const Sweep& sweep, std::optional<std::pair<int, int>> shard) {
  std::vector<std::int64_t> runs;
  for (std::int64_t i = 0; i < sweep.runs(); ++i)
    if (!shard || i % shard->second == shard->first) runs.push_back(i);
  return runs;
}

int exit_code_for(std::int64_t failed, std::int64_t todo) {
  if (const int sig = stop_requested()) return 128 + sig;
  return failed > 0 || todo > 0 ? kExitFailure : kExitOk;
}

struct Counts {
  std::int64_t done = 0, failed = 0, running = 0, todo = 0;
};

Counts count(const SweepState& st, const std::vector<std::int64_t>& runs) {
  Counts c;
  for (std::int64_t i : runs) {
    if (st.done(i))
      ++c.done;
    else if (st.failed(i))
      ++c.failed;
    else if (auto it = st.running.find(i); it != st.running.end() && !it->second.stale)
      ++c.running;
    else
      ++c.todo;
  }
  return c;
}

int cmd_status(const std::string& out) {
  const SweepDir dir(out);
  const Sweep sweep = dir.load();
  const SweepState st = dir.scan();
  const auto all = scope_of(sweep, std::nullopt);
  const Counts c = count(st, all);
  std::printf("sweep '%s' in %s: %lld runs (%lld points x %lld replications, %s design)\n",
              sweep.name.c_str(), dir.root().c_str(), static_cast<long long>(sweep.runs()),
              static_cast<long long>(sweep.point_count()),
              static_cast<long long>(sweep.replications),
              std::string(design_name(sweep.kind)).c_str());
  std::printf("  done     %8lld\n  running  %8lld\n  failed   %8lld\n  todo     %8lld\n",
              static_cast<long long>(c.done), static_cast<long long>(c.running),
              static_cast<long long>(c.failed), static_cast<long long>(c.todo));
  int shown = 0;
  for (const auto& [i, m] : st.running) {
    if (st.done(i) || m.stale) continue;
    if (shown++ == 0) std::printf("running:\n");
    if (shown > 20) continue;
    std::printf("  run %lld on %s (pid %lld)\n", static_cast<long long>(i), m.host.c_str(),
                static_cast<long long>(m.pid));
  }
  if (shown > 20) std::printf("  ... and %d more\n", shown - 20);
  shown = 0;
  for (const auto& [i, r] : st.records) {
    if (!st.failed(i)) continue;
    if (shown++ == 0) std::printf("failed:\n");
    if (shown > 50) continue;
    std::printf("  run %lld (%s): %s\n", static_cast<long long>(i),
                sweep.describe_point(sweep.point_of(i)).c_str(), r.message.c_str());
  }
  if (shown > 50) std::printf("  ... and %d more\n", shown - 50);
  return kExitOk;
}

int cmd_merge(const std::string& out, bool quiet) {
  const SweepDir dir(out);
  const Sweep sweep = dir.load();
  const SweepState st = dir.scan();
  const auto all = scope_of(sweep, std::nullopt);
  SummaryCache cache;
  write_index(sweep, dir, st, dir.index_file(), all, "all", "", cache);
  const Counts c = count(st, all);
  if (!quiet)
    std::printf("wrote %s: %lld runs, %lld done, %lld failed, %lld not done\n",
                dir.index_file().c_str(), static_cast<long long>(sweep.runs()),
                static_cast<long long>(c.done), static_cast<long long>(c.failed),
                static_cast<long long>(c.running) + static_cast<long long>(c.todo));
  return kExitOk;
}

struct RunArgs {
  std::string sweep_file;
  std::string out;
  int threads = 0;
  int jobs = 0;
  std::optional<std::pair<int, int>> shard;
  bool retry_failed = false;
  bool quiet = false;
};

// Cores for this process: all of them, or this rank's share of the machine under MPI.
int default_threads(bool mpi) {
  const int cores = std::max(1, static_cast<int>(tbb::info::default_concurrency()));
  return mpi ? std::max(1, cores / launcher_local_size()) : cores;
}

ExecutionPlan plan_for(const RunArgs& a, bool mpi) {
  ExecutionPlan p;
  const int budget = a.threads > 0 ? a.threads : default_threads(mpi);
  p.jobs = a.jobs > 0 ? a.jobs : budget;
  p.threads_per_run = std::max(1, budget / p.jobs);
  p.progress = !a.quiet;
  p.terminal = stderr_is_terminal();
  return p;
}

struct Prepared {
  std::vector<std::int64_t> scope, todo;
  std::int64_t already_done = 0;
};

// Claims the directory, takes stock and cleans what killed runs left. Holds the lock in `lock`.
Prepared prepare(const Sweep& sweep, const SweepDir& dir, const RunArgs& a,
                 std::optional<SweepDir::Lock>& lock) {
  std::error_code ec;
  if (fs::exists(dir.root(), ec) && !fs::is_directory(dir.root(), ec))
    throw InputError({dir.root(), 0, 0}, "", "--out must name a directory; this is a file");
  fs::create_directories(dir.root(), ec);
  if (ec) throw RunError("cannot create the output directory " + dir.root() + ": " + ec.message());
  lock.emplace(a.shard ? dir.lock_shard(a.shard->first, a.shard->second) : dir.lock_whole());
  dir.claim(sweep);
  const SweepState st = dir.scan();
  Prepared p;
  p.scope = scope_of(sweep, a.shard);
  for (std::int64_t i : p.scope) {
    if (st.done(i) || (st.failed(i) && !a.retry_failed)) continue;
    dir.remove_leftovers(i, st);
    p.todo.push_back(i);
  }
  p.already_done = static_cast<std::int64_t>(p.scope.size() - p.todo.size());
  return p;
}

void announce(const Sweep& sweep, const SweepDir& dir, const RunArgs& a, const Prepared& p,
              const std::string& how) {
  if (a.quiet) return;
  std::fprintf(stderr,
               "citynet: sweep '%s': %lld runs%s, %lld already finished, %lld to run %s; "
               "output in %s\n",
               sweep.name.c_str(), static_cast<long long>(p.scope.size()),
               a.shard
                   ? (" (shard " + std::to_string(a.shard->first) + "/" +
                      std::to_string(a.shard->second) + " of " + std::to_string(sweep.runs()) + ")")
                         .c_str()
                   : "",
               static_cast<long long>(p.already_done), static_cast<long long>(p.todo.size()),
               how.c_str(), dir.root().c_str());
}

// After the runs: the index (or shard fragment), a summary line, the exit code.
int finish(const Sweep& sweep, const SweepDir& dir, const RunArgs& a, const Prepared& p,
           double seconds, std::int64_t ran) {
  const SweepState st = dir.scan();
  SummaryCache cache;
  std::string index;
  if (a.shard) {
    index = dir.shard_index_file(a.shard->first, a.shard->second);
    write_index(sweep, dir, st, index, p.scope,
                "shard " + std::to_string(a.shard->first) + "/" + std::to_string(a.shard->second),
                "../", cache);
  } else {
    index = dir.index_file();
    write_index(sweep, dir, st, index, p.scope, "all", "", cache);
  }
  const Counts c = count(st, p.scope);
  if (!a.quiet) {
    std::printf("sweep '%s': %lld runs: %lld done, %lld failed, %lld not done; index %s\n",
                sweep.name.c_str(), static_cast<long long>(p.scope.size()),
                static_cast<long long>(c.done), static_cast<long long>(c.failed),
                static_cast<long long>(c.todo) + static_cast<long long>(c.running), index.c_str());
    if (ran > 0 && seconds > 0)
      std::printf("ran %lld runs in %.1f s (%.1f runs/min)\n", static_cast<long long>(ran), seconds,
                  60.0 * static_cast<double>(ran) / seconds);
    if (stop_requested())
      std::fprintf(stderr,
                   "citynet: sweep stopped by signal %d after the runs in flight; run the same "
                   "command again to finish it\n",
                   stop_requested());
    else if (c.failed > 0)
      std::fprintf(stderr,
                   "citynet: %lld runs failed: `citynet sweep --status %s` lists them; "
                   "--retry-failed runs them again\n",
                   static_cast<long long>(c.failed), dir.root().c_str());
  }
  return exit_code_for(c.failed, c.todo + c.running);
}

// The notes each run would log (rows skipped in a data file, ...) are the same for every run and
// would bury the progress; warnings and errors still show.
void quiet_run_notes() {
  if (spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
}

int run_here(const RunArgs& a) {
  const Sweep sweep = load_sweep_file(a.sweep_file);
  const SweepDir dir(a.out);
  std::optional<SweepDir::Lock> lock;
  const Prepared p = prepare(sweep, dir, a, lock);
  ExecutionPlan plan = plan_for(a, false);
  // Fewer runs left than jobs: give the spare threads to the runs there are.
  if (!p.todo.empty() && static_cast<std::size_t>(plan.jobs) > p.todo.size()) {
    const int budget = plan.jobs * plan.threads_per_run;
    plan.jobs = static_cast<int>(p.todo.size());
    plan.threads_per_run = std::max(1, budget / plan.jobs);
  }
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(plan.jobs * plan.threads_per_run));
  announce(sweep, dir, a, p,
           "(" + std::to_string(plan.jobs) + " at once, " + std::to_string(plan.threads_per_run) +
               " thread" + (plan.threads_per_run > 1 ? "s" : "") + " each)");
  install_stop_handlers();
  quiet_run_notes();
  const auto t0 = std::chrono::steady_clock::now();
  run_local(sweep, dir, SweepState{}, p.todo, p.already_done,
            static_cast<std::int64_t>(p.scope.size()), plan);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return finish(sweep, dir, a, p, s, static_cast<std::int64_t>(p.todo.size()));
}

int run_under_mpi(const RunArgs& a, int argc, char** argv) {
  MpiSession mpi(argc, argv);
  // Every rank reads the sweep (cheap); rank 0 alone claims the directory and hands out runs.
  std::optional<Sweep> sweep;
  std::exception_ptr error;
  try {
    sweep = load_sweep_file(a.sweep_file);
  } catch (...) {
    error = std::current_exception();
  }
  if (mpi.min_all(error ? 0 : 1) == 0) {
    if (mpi.rank() == 0 && error) std::rethrow_exception(error);
    if (mpi.rank() == 0) throw RunError("another MPI rank could not read " + a.sweep_file);
    return kExitUsage;
  }
  const SweepDir dir(a.out);
  std::optional<SweepDir::Lock> lock;
  Prepared p;
  if (mpi.rank() == 0) {
    try {
      p = prepare(*sweep, dir, a, lock);
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (mpi.broadcast(error ? 0 : 1) == 0) {
    if (error) std::rethrow_exception(error);
    return kExitUsage;
  }
  const ExecutionPlan plan = plan_for(a, true);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(plan.jobs * plan.threads_per_run));
  if (mpi.rank() == 0)
    announce(*sweep, dir, a, p,
             "on " + std::to_string(mpi.size()) + " MPI ranks (" + std::to_string(plan.jobs) +
                 " at once per rank, " + std::to_string(plan.threads_per_run) + " thread" +
                 (plan.threads_per_run > 1 ? "s" : "") + " each)");
  install_stop_handlers();
  quiet_run_notes();
  ExecutionPlan rank_plan = plan;
  rank_plan.progress = plan.progress && mpi.rank() == 0;
  const auto t0 = std::chrono::steady_clock::now();
  run_mpi(mpi, *sweep, dir, p.todo, p.already_done, static_cast<std::int64_t>(p.scope.size()),
          rank_plan);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (mpi.rank() != 0) return stop_requested() ? 128 + stop_requested() : kExitOk;
  return finish(*sweep, dir, a, p, s, static_cast<std::int64_t>(p.todo.size()));
}

int cmd_check(const std::string& file) {
  const Sweep sweep = load_sweep_file(file);
  std::printf("%s: ok: %lld runs (%lld points x %lld replications, %s design) of %s\n",
              file.c_str(), static_cast<long long>(sweep.runs()),
              static_cast<long long>(sweep.point_count()),
              static_cast<long long>(sweep.replications),
              std::string(design_name(sweep.kind)).c_str(), sweep.scenario_file.c_str());
  const std::int64_t show = std::min<std::int64_t>(sweep.point_count(), 10);
  for (std::int64_t p = 0; p < show; ++p)
    std::printf("  point %lld: %s\n", static_cast<long long>(p), sweep.describe_point(p).c_str());
  if (show < sweep.point_count())
    std::printf("  ... %lld more points\n", static_cast<long long>(sweep.point_count() - show));
  return kExitOk;
}

int cmd_emit_slurm(const RunArgs& a, const po::variables_map& vm) {
  const Sweep sweep = load_sweep_file(a.sweep_file);
  SlurmSettings s;
  s.citynet = self_path();
  s.sweep_file = absolute(a.sweep_file);
  s.out_dir = absolute(a.out);
  s.script = vm["emit-slurm"].as<std::string>();
  const int shards = vm["shards"].as<int>();
  if (shards < 1) throw Usage{"--shards must be 1 or more"};
  s.shards =
      static_cast<int>(std::min<std::int64_t>(shards, std::max<std::int64_t>(sweep.runs(), 1)));
  s.cpus = vm["cpus-per-task"].as<int>();
  if (s.cpus < 1) throw Usage{"--cpus-per-task must be 1 or more"};
  s.time = vm["time"].as<std::string>();
  s.mem = vm["mem"].as<std::string>();
  if (vm.count("partition")) s.partition = vm["partition"].as<std::string>();
  if (vm.count("account")) s.account = vm["account"].as<std::string>();
  std::string templ = builtin_slurm_template();
  if (vm.count("slurm-template")) {
    const std::string t = vm["slurm-template"].as<std::string>();
    std::ifstream in(t, std::ios::binary);
    if (!in) throw InputError({t, 0, 0}, "", "cannot read the Slurm template");
    std::ostringstream ss;
    ss << in.rdbuf();
    templ = ss.str();
  }
  // Claiming now refuses a directory that holds another sweep before anything is queued.
  const SweepDir dir(s.out_dir);
  std::error_code ec;
  fs::create_directories(dir.root(), ec);
  dir.claim(sweep);
  fs::create_directories(s.out_dir + "/slurm", ec);
  {
    std::ofstream out(s.script, std::ios::binary | std::ios::trunc);
    out << slurm_script(templ, sweep, s);
    if (!out) throw RunError("cannot write " + s.script);
  }
  ::chmod(s.script.c_str(), 0755);
  if (!a.quiet)
    std::printf(
        "wrote %s: %lld runs as a Slurm array of %d tasks (--array=0-%d), %d CPUs each.\n"
        "Submit with `bash %s` (array and merge) or `sbatch %s` (array only; then "
        "`citynet sweep --merge %s`).\n",
        s.script.c_str(), static_cast<long long>(sweep.runs()), s.shards, s.shards - 1, s.cpus,
        s.script.c_str(), s.script.c_str(), s.out_dir.c_str());
  return kExitOk;
}

int dispatch(const std::vector<std::string>& args, int argc, char** argv) {
  po::options_description opts("citynet sweep options");
  opts.add_options()("help,h", "this help")("out,o", po::value<std::string>(),
                                            "output directory of the sweep")(
      "threads", po::value<int>()->default_value(0),
      "threads for the whole sweep on this machine (0: every core; under MPI: this rank's share)")(
      "jobs", po::value<int>()->default_value(0),
      "runs at once (0: as many as threads); each run gets threads/jobs threads")(
      "shard", po::value<std::string>(), "run only shard K of N: runs i with i % N == K")(
      "retry-failed", "run again the runs recorded as failed")(
      "check", "validate the sweep and list its points; run nothing")(
      "status", po::value<std::string>(), "show what is done in DIR")(
      "merge", po::value<std::string>(), "rebuild DIR/sweep.h5 from the run files and records")(
      "emit-slurm", po::value<std::string>(), "write a Slurm job-array script to FILE")(
      "shards", po::value<int>()->default_value(10), "with --emit-slurm: array tasks")(
      "cpus-per-task", po::value<int>()->default_value(1),
      "with --emit-slurm: CPUs of each task (it runs that many runs at once)")(
      "time", po::value<std::string>()->default_value("04:00:00"),
      "with --emit-slurm: time limit of each task")(
      "mem", po::value<std::string>()->default_value("4G"), "with --emit-slurm: memory per task")(
      "partition", po::value<std::string>(), "with --emit-slurm: Slurm partition")(
      "account", po::value<std::string>(), "with --emit-slurm: Slurm account")(
      "slurm-template", po::value<std::string>(),
      "with --emit-slurm: template to fill instead of the built-in config/slurm.sbatch.in")(
      "quiet,q", "print nothing but errors")("sweep", po::value<std::string>(), "sweep file");
  po::positional_options_description pos;
  pos.add("sweep", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Usage{e.what()};
  }
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << opts << kAfterHelp;
    return kExitOk;
  }
  RunArgs a;
  a.quiet = vm.count("quiet") > 0;
  if (vm.count("status")) {
    if (vm.count("sweep") || vm.count("merge")) throw Usage{"--status DIR takes no sweep file"};
    return cmd_status(vm["status"].as<std::string>());
  }
  if (vm.count("merge")) {
    if (vm.count("sweep")) throw Usage{"--merge DIR takes no sweep file"};
    return cmd_merge(vm["merge"].as<std::string>(), a.quiet);
  }
  if (!vm.count("sweep")) throw Usage{"sweep needs a sweep file (or --status DIR, --merge DIR)"};
  a.sweep_file = vm["sweep"].as<std::string>();
  if (vm.count("check")) return cmd_check(a.sweep_file);
  if (!vm.count("out")) throw Usage{"sweep needs --out DIR, the directory for its results"};
  a.out = vm["out"].as<std::string>();
  a.threads = vm["threads"].as<int>();
  a.jobs = vm["jobs"].as<int>();
  if (a.threads < 0) throw Usage{"--threads must be 0 (every core) or more"};
  if (a.jobs < 0) throw Usage{"--jobs must be 0 (as many as threads) or more"};
  a.retry_failed = vm.count("retry-failed") > 0;
  if (vm.count("shard")) a.shard = parse_shard(vm["shard"].as<std::string>());
  if (vm.count("emit-slurm")) return cmd_emit_slurm(a, vm);

  if (launched_by_mpi()) {
    if (a.shard) throw Usage{"--shard is for job arrays; under mpirun the ranks share the work"};
    if (!mpi_compiled()) {
      if (launcher_world_size() > 1) {
        std::cerr << "citynet: this citynet was built without MPI, so " << launcher_world_size()
                  << " copies would each run the whole sweep. Install Open MPI "
                     "(apt-get install libopenmpi-dev openmpi-bin) and rebuild with "
                     "-DCITYNET_WITH_MPI=ON (the default when CMake finds MPI), or split the "
                     "sweep with --shard K/N.\n";
        return kExitUsage;
      }
      return run_here(a);
    }
    return run_under_mpi(a, argc, argv);
  }
  return run_here(a);
}

}  // namespace

int sweep_command(const std::vector<std::string>& args, int argc, char** argv) {
  try {
    return dispatch(args, argc, argv);
  } catch (const Usage& u) {
    std::cerr << "citynet sweep: " << u.message << "\n\n" << kUsage;
    return kExitUsage;
  }
}

}  // namespace citynet::app
