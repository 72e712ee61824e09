#include <tbb/global_control.h>
#include <tbb/info.h>

#include <hdf5.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigaction is POSIX, not in <csignal>
#include <unistd.h>
#include <boost/program_options.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/checkpoint.hpp"
#include "app/progress.hpp"
#include "app/questions.hpp"
#include "app/run.hpp"
#include "app/sweep_command.hpp"
#include "citynet/version.hpp"
#include "core/error.hpp"
#include "io/run_file.hpp"
#include "model/cities.hpp"
#include "model/model.hpp"
#include "net/network.hpp"
#include "rng/stream.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"

namespace po = boost::program_options;
using namespace citynet;

namespace {

// Set by SIGINT / SIGTERM: a run stops at the end of its step and says so.
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

void on_run_signal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_run_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

const char* kCommandsHelp = R"(citynet: how cities learn from each other, simulated.

Usage: citynet COMMAND [OPTIONS]

Commands:
  run [SCENARIO.yaml]    run a scenario (the built-in world scenario when none is given)
  validate SCENARIO.yaml check a scenario and the data it names, run nothing
  params [--markdown]    every scenario parameter: key, type, default, units, range, doc
  info FILE.h5           what a run file holds
  sweep SWEEP.yaml --out DIR   a parameter sweep (locally, under mpirun, or as --shard K/N)
  report RUN.h5|DIR      figures, report.html and summary.json for a run or a sweep
  compare A B            two runs (or two sweeps) side by side
  help [COMMAND]         help for a command

Options:
  -h, --help             this help
  -V, --version          version, commit and data sources

Exit codes: 0 success, 2 bad input or usage, 1 a failure while running.
)";

void print_version() {
  std::cout << "citynet " << kVersion << " (commit " << kGitCommit << ")\n"
            << "Built-in data: GeoNames cities (CC BY 4.0), C40 Cities member list, sister-city "
               "pairs from Wikipedia (CC BY-SA 4.0) via Hekman/twincities (MIT); see "
               "scenarios/data/SOURCES.md.\n";
}

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& opts,
                        const po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

scenario::Scenario load(const po::variables_map& vm, std::vector<std::string> sets) {
  if (vm.count("seed")) sets.push_back("seed=" + std::to_string(vm["seed"].as<std::uint64_t>()));
  if (vm.count("scenario"))
    return scenario::load_scenario_file(vm["scenario"].as<std::string>(), sets);
  return scenario::load_default_scenario(sets);
}

std::string human_bytes(std::uintmax_t b) {
  char buf[64];
  if (b >= (1u << 20))
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(b) / 1e3);
  return buf;
}

// A run killed with SIGKILL leaves OUTPUT.partial-PID behind; a resumed run removes those whose
// process is gone.
void remove_stale_partials(const std::string& output) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path out(output);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  const std::string prefix = out.filename().string() + ".partial-";
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(e.path(), ec);
  }
}

int cmd_run(const std::vector<std::string>& args) {
  po::options_description opts("citynet run [SCENARIO.yaml] [options]");
  opts.add_options()("help,h", "this help")("output,o", po::value<std::string>(),
                                            "output file (default: output.file, or NAME.h5)")(
      "seed", po::value<std::uint64_t>(), "master seed (overrides the scenario's `seed`)")(
      "run-index", po::value<std::uint64_t>()->default_value(0),
      "run index: with the seed it keys every random draw (run i of a sweep is --run-index i)")(
      "threads", po::value<int>()->default_value(0), "worker threads (0: every core)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a parameter, e.g. --set rule.bass.q=0.5 (repeatable)")(
      "quiet,q", "print nothing but errors")("profile", "print the time spent in each phase")(
      "checkpoint-every", po::value<int>()->default_value(0),
      "write a checkpoint every N steps (0: none); a killed run continues with --resume")(
      "checkpoint", po::value<std::string>(),
      "checkpoint file (default: OUTPUT.ckpt, with OUTPUT.ckpt.journal beside it)")(
      "resume", po::value<std::string>(),
      "continue the run of this checkpoint (scenario, seed and output come from it)")(
      "reproducible",
      "leave the thread count and wall time out of the file, so that runs of the same scenario "
      "and seed give byte-identical files (datasets are identical either way)")(
      "discard-interrupted",
      "on SIGINT/SIGTERM leave no file (default: keep the steps done, marked complete = 0)")(
      "no-output",
      "write no file: the summary (and --profile) only, to try a scenario or time a run without "
      "its writing")("scenario", po::value<std::string>(), "scenario file");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << opts
              << "\nWith no scenario, runs the built-in world scenario (real cities, "
                 "C40, sister cities, geography).\n";
    return kExitOk;
  }
  const int threads = vm["threads"].as<int>();
  if (threads < 0) throw UsageError("--threads must be 0 (every core) or more");
  const bool quiet = vm.count("quiet") > 0;
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  std::optional<app::Checkpoint> resume;
  if (vm.count("resume")) {
    if (vm.count("scenario") || !sets.empty() || vm.count("seed"))
      throw UsageError("--resume takes the scenario, seed and overrides from the checkpoint");
    resume = app::read_checkpoint(vm["resume"].as<std::string>());
  }
  const int used_threads = threads > 0 ? threads : tbb::info::default_concurrency();
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(used_threads));
  // The run's threads, and HDF5 and the file when it writes one, start while the scenario is
  // read.
  const app::RunStart run_start(
      used_threads, vm.count("no-output") == 0,
      vm.count("output") && !resume ? vm["output"].as<std::string>() : std::string());
  const scenario::Scenario sc =
      resume ? scenario::load_scenario_text(resume->scenario_yaml,
                                            resume->scenario_name + " (from the checkpoint)", "")
             : load(vm, sets);
  if (sc.question.kind != scenario::QuestionKind::kNone) {
    if (vm.count("no-output"))
      throw UsageError("--no-output is for single runs; a question's runs write its answer file");
    app::QuestionOptions qo;
    qo.output = vm.count("output")        ? vm["output"].as<std::string>()
                : !sc.output.file.empty() ? sc.output.file
                                          : sc.name + ".h5";
    qo.threads = used_threads;
    qo.quiet = quiet;
    app::answer_question(sc, qo);
    if (!quiet)
      std::printf("The first run of the scenario as written is in %s\n", qo.output.c_str());
    return kExitOk;
  }

  app::RunOptions options;
  options.output = vm.count("output")        ? vm["output"].as<std::string>()
                   : !sc.output.file.empty() ? sc.output.file
                                             : sc.name + ".h5";
  if (vm.count("no-output")) {
    if (vm.count("output") || vm.count("resume") || vm.count("checkpoint") ||
        vm["checkpoint-every"].as<int>() > 0)
      throw UsageError(
          "--no-output writes no file: it cannot go with --output, --checkpoint, "
          "--checkpoint-every or --resume");
    options.output.clear();
  }
  options.threads = used_threads;
  options.run_index = vm["run-index"].as<std::uint64_t>();
  options.volatile_metadata = vm.count("reproducible") == 0;
  const int every = vm["checkpoint-every"].as<int>();
  if (every < 0) throw UsageError("--checkpoint-every must be 0 (none) or more steps");
  options.checkpoint_every = every;
  options.checkpoint_path =
      vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : options.output + ".ckpt";
  if (resume) {
    options.output = resume->output;
    options.run_index = resume->run_index;
    options.volatile_metadata = resume->volatile_metadata;
    options.checkpoint_path = vm["resume"].as<std::string>();
    options.resume = &*resume;
    remove_stale_partials(options.output);
  }
  options.keep_series = false;
  app::ProgressBar bar(sc.name, !quiet && app::stderr_is_terminal());
  options.on_step = [&](Step done, Step total) { bar.update(done, total); };
  options.stop = &g_stop;
  options.keep_interrupted = vm.count("discard-interrupted") == 0;
  install_stop_handlers();
  const app::RunResult r = app::run_scenario(sc, options);
  bar.finish();
  if (r.interrupted) {
    std::fprintf(stderr, "citynet: interrupted after %d of %d steps; %s\n", r.steps_done, r.steps,
                 r.output.empty() ? "no file was left"
                                  : (r.output + " holds them, marked complete = 0").c_str());
    return 128 + g_signal.load();
  }
  if (quiet) return kExitOk;

  std::printf("citynet %s: scenario '%s', seed %llu, %d threads\n", kVersion, sc.name.c_str(),
              static_cast<unsigned long long>(sc.seed), used_threads);
  std::printf("%d cities; layers:", r.cities);
  for (std::size_t l = 0; l < r.layers.size(); ++l)
    std::printf("%s %s (%lld ties)", l ? "," : "", r.layers[l].c_str(),
                static_cast<long long>(r.layer_ties[l] / 2));
  if (r.layers.empty()) std::printf(" none");
  std::printf("\n%d steps of %g %s, from %g to %g\n", r.steps, sc.time.dt, sc.time.unit.c_str(),
              sc.time.start, sc.time.start + sc.time.dt * r.steps);
  std::printf("Adopters at the end:\n");
  std::size_t width = 8;
  for (const auto& s : r.solutions) width = std::max(width, s.size());
  for (std::size_t s = 0; s < r.solutions.size(); ++s) {
    const int a = r.final_adopters()[s];
    std::printf("  %-*s %8d  (%5.1f %% of cities)\n", static_cast<int>(width),
                r.solutions[s].c_str(), a, r.cities ? 100.0 * a / r.cities : 0.0);
  }
  if (r.output.empty()) {
    std::printf("Ran without output (%lld events) in %.2f s (setup %.2f s, steps %.2f s)\n",
                static_cast<long long>(r.event_count), r.wall_seconds, r.setup_seconds,
                r.step_seconds);
  } else {
    std::error_code ec;
    const auto size = std::filesystem::file_size(r.output, ec);
    std::printf("Wrote %s (%s, %lld events) in %.2f s (setup %.2f s, steps %.2f s)\n",
                r.output.c_str(), ec ? "?" : human_bytes(size).c_str(),
                static_cast<long long>(r.event_count), r.wall_seconds, r.setup_seconds,
                r.step_seconds);
  }
  if (vm.count("profile")) {
    // Four decimals: a small run's phases take a few milliseconds.
    std::printf("Time by phase:\n");
    std::printf("  %-10s %9.4f s\n", "setup", r.setup_seconds);
    for (const auto& p : r.phases) std::printf("  %-10s %9.4f s\n", p.name.c_str(), p.seconds);
    std::printf("  %-10s %9.4f s\n", "whole run", r.wall_seconds);
    const double steps_per_s = r.step_seconds > 0 ? r.steps / r.step_seconds : 0.0;
    std::printf("  %.0f steps/s, %.3g city-steps/s\n", steps_per_s, steps_per_s * r.cities);
    if (r.states_deferred > 0)
      std::printf("  %d states kept in memory while the cities and ties were written\n",
                  r.states_deferred);
    std::int64_t ties = 0;
    for (auto t : r.layer_ties) ties += t;
    const double slots = static_cast<double>(r.cities) * static_cast<double>(r.solutions.size());
    std::printf("Memory held:\n");
    std::printf("  ties      %10s  %.2f B per directed tie\n",
                human_bytes(static_cast<std::uintmax_t>(r.network_bytes)).c_str(),
                ties > 0 ? static_cast<double>(r.network_bytes) / static_cast<double>(ties) : 0.0);
    if (r.state_bytes > 0)
      std::printf("  state     %10s  %.2f B per city x solution\n",
                  human_bytes(static_cast<std::uintmax_t>(r.state_bytes)).c_str(),
                  slots > 0 ? static_cast<double>(r.state_bytes) / slots : 0.0);
    std::printf("  cities    %10s  %.1f B per city\n",
                human_bytes(static_cast<std::uintmax_t>(r.city_bytes)).c_str(),
                r.cities > 0 ? static_cast<double>(r.city_bytes) / r.cities : 0.0);
  }
  return kExitOk;
}

int cmd_validate(const std::vector<std::string>& args) {
  po::options_description opts("citynet validate SCENARIO.yaml [options]");
  opts.add_options()("help,h", "this help")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a parameter (repeatable)")("scenario", po::value<std::string>(), "scenario file");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << opts
              << "\nChecks the scenario and every data file it names; runs nothing and "
                 "writes nothing.\n";
    return kExitOk;
  }
  if (!vm.count("scenario")) throw UsageError("validate needs a scenario file");
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  const scenario::Scenario sc = load(vm, sets);
  const std::uint64_t key = rng::run_key(sc.seed, 0);
  const auto cities = model::load_cities(sc, key);
  const auto network = net::build_network(sc, cities, key);
  const auto model = model::make_model(sc, cities, network, key);
  std::cout << sc.source_file << ": ok: " << cities.size() << " cities, " << network.layers.size()
            << " layers, " << sc.solutions.size() << " solutions, " << sc.time.steps << " steps\n";
  return kExitOk;
}

int cmd_params(const std::vector<std::string>& args) {
  po::options_description opts("citynet params [--markdown]");
  opts.add_options()("help,h", "this help")("markdown", "print docs/parameters.md");
  const auto vm = parse(args, opts, {});
  if (vm.count("help")) {
    std::cout << opts;
    return kExitOk;
  }
  std::cout << (vm.count("markdown") ? scenario::parameters_markdown()
                                     : scenario::parameters_text());
  return kExitOk;
}

int cmd_info(const std::vector<std::string>& args) {
  po::options_description opts("citynet info FILE.h5");
  opts.add_options()("help,h", "this help")("file", po::value<std::string>(), "run file");
  po::positional_options_description pos;
  pos.add("file", 1);
  const auto vm = parse(args, opts, pos);
  if (vm.count("help")) {
    std::cout << opts;
    return kExitOk;
  }
  if (!vm.count("file")) throw UsageError("info needs a run file");
  const auto info = io::read_run_info(vm["file"].as<std::string>());
  std::printf("%s: citynet run file, format version %d, written by citynet %s (commit %s)%s\n",
              info.path.c_str(), info.format_version, info.citynet_version.c_str(),
              info.git_commit.c_str(), info.complete ? "" : " -- INCOMPLETE");
  std::printf("scenario '%s', seed %llu, %d threads, %d steps (to time %g), %.2f s wall\n",
              info.scenario_name.c_str(), static_cast<unsigned long long>(info.seed), info.threads,
              info.steps, info.final_time, info.wall_seconds);
  std::printf("%lld cities; layers:", static_cast<long long>(info.cities));
  for (std::size_t l = 0; l < info.layers.size(); ++l)
    std::printf("%s %s (%lld ties)", l ? "," : "", info.layers[l].c_str(),
                static_cast<long long>(info.layer_ties[l] / 2));
  std::printf("\n%lld events; adopters at the end:\n", static_cast<long long>(info.events));
  for (std::size_t s = 0; s < info.solutions.size(); ++s)
    std::printf("  %-28s %8d\n", info.solutions[s].c_str(),
                s < info.final_adopters.size() ? info.final_adopters[s] : 0);
  return kExitOk;
}

// `report` and `compare` are the analysis package's (analysis/citynet_analysis), run with
// Debian's /usr/bin/python3; its exit code is ours (2 for bad input).
int cmd_analysis(const std::string& cmd, const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::string dir;
  if (const char* env = std::getenv("CITYNET_ANALYSIS_PATH")) dir = env;
  if (dir.empty()) {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    const fs::path installed = exe.parent_path().parent_path() / "share" / "citynet" / "analysis";
    dir = fs::is_directory(CITYNET_ANALYSIS_DIR, ec) ? CITYNET_ANALYSIS_DIR : installed.string();
  }
  if (!fs::is_directory(fs::path(dir) / "citynet_analysis"))
    throw RunError("the analysis package is not at " + dir +
                   " (set CITYNET_ANALYSIS_PATH to the directory holding citynet_analysis)");
  const char* python = std::getenv("CITYNET_PYTHON");
  const std::string interpreter = python && *python ? python : "/usr/bin/python3";
  const char* old = std::getenv("PYTHONPATH");
  const std::string path = dir + (old && *old ? ":" + std::string(old) : "");
  ::setenv("PYTHONPATH", path.c_str(), 1);
  if (!std::getenv("MPLBACKEND")) ::setenv("MPLBACKEND", "Agg", 1);
  std::vector<std::string> argv_s = {interpreter, "-m", "citynet_analysis", cmd};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv_c;
  for (auto& a : argv_s) argv_c.push_back(a.data());
  argv_c.push_back(nullptr);
  std::fflush(stdout);
  ::execv(interpreter.c_str(), argv_c.data());
  throw RunError("cannot start " + interpreter + " for `citynet " + cmd +
                 "` (install python3-h5py, python3-pandas, python3-scipy, python3-matplotlib: "
                 "scripts/bootstrap does)");
}

int dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kCommandsHelp;
    return kExitBadInput;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  if (cmd == "-h" || cmd == "--help") {
    std::cout << kCommandsHelp;
    return kExitOk;
  }
  if (cmd == "-V" || cmd == "--version") {
    print_version();
    return kExitOk;
  }
  if (cmd == "help") {
    if (args.empty()) {
      std::cout << kCommandsHelp;
      return kExitOk;
    }
    const std::string sub = args.front();
    args = {"--help"};
    if (sub == "run") return cmd_run(args);
    if (sub == "validate") return cmd_validate(args);
    if (sub == "params") return cmd_params(args);
    if (sub == "info") return cmd_info(args);
    if (sub == "report" || sub == "compare") return cmd_analysis(sub, args);
    if (sub == "sweep") return app::sweep_command({"--help"}, argc, argv);
    throw UsageError("no command '" + sub + "'");
  }
  if (cmd == "run") return cmd_run(args);
  if (cmd == "validate") return cmd_validate(args);
  if (cmd == "params") return cmd_params(args);
  if (cmd == "info") return cmd_info(args);
  if (cmd == "sweep") return app::sweep_command(args, argc, argv);
  if (cmd == "report" || cmd == "compare") return cmd_analysis(cmd, args);
  std::string msg = "unknown command '" + cmd + "'";
  if (auto m = closest_match(
          cmd, {"run", "validate", "params", "info", "sweep", "report", "compare", "help"});
      !m.empty())
    msg += " (did you mean " + m + "?)";
  throw UsageError(msg);
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // glibc maps blocks from 128 kB up with mmap of their own and unmaps them when freed, and
  // gives the top of its heaps back above 128 kB free: HDF5's 528 kB metadata cache, the
  // writer's chunk buffers and the setup's tables each cost page faults and an unmapping that,
  // with the run's threads up, waits for the other cores to flush their TLBs. Kept in the heaps
  // up to 1 MB, and 16 MB of free heap kept, they are reused instead: closing a 10^4-city run's
  // file took 0.29-0.46 against 0.39-0.58 ms (medians of 31-41, in six batches), and runs of
  // 10^5 and 10^6 cities were no slower, with a lower peak RSS.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
  // A file HDF5 could not close (a full disk) makes its exit-time cleanup crash; the partial
  // file is already removed by then, so that cleanup is skipped.
  H5dont_atexit();
  // Notes go to stderr so that stdout carries only the results a script may parse.
  auto logger = spdlog::stderr_color_mt("citynet");
  logger->set_pattern("citynet: %l: %v");
  spdlog::set_default_logger(logger);
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--quiet" || std::string(argv[i]) == "-q")
      spdlog::set_level(spdlog::level::warn);
  try {
    return dispatch(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "citynet: " << e.what() << "\nRun `citynet --help` for usage.\n";
    return kExitBadInput;
  } catch (const InputError& e) {
    std::cerr << e.report();
    return kExitBadInput;
  } catch (const RunError& e) {
    std::cerr << "citynet: error: " << e.what() << '\n';
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    std::cerr << "citynet: error: out of memory\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "citynet: error: " << e.what() << '\n';
    return kExitFailure;
  }
}
