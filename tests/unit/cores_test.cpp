#include "core/cores.hpp"

#include <dirent.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <tbb/global_control.h>

#include "app/run.hpp"
#include "scenario/loader.hpp"
#include "support/h5compare.hpp"
#include "support/process.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

using namespace citynet;

namespace {

#if defined(__linux__)
cpu_set_t cores_of(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(tid, sizeof set, &set) == 0);
  return set;
}

// Every thread of this process and the cores it may run on, from /proc.
std::map<std::string, std::string> thread_cores() {
  std::map<std::string, std::string> out;
  DIR* dir = opendir("/proc/self/task");
  REQUIRE(dir != nullptr);
  while (const dirent* e = readdir(dir)) {
    const std::string tid = e->d_name;
    if (tid == "." || tid == "..") continue;
    std::ifstream status("/proc/self/task/" + tid + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("Cpus_allowed_list:", 0) == 0) out[tid] = line;
  }
  closedir(dir);
  return out;
}
#endif

}  // namespace

TEST_CASE("current_core names a core the thread may run on", "[cores]") {
#if defined(__linux__)
  const int core = current_core();
  REQUIRE(core >= 0);
  const cpu_set_t mine = cores_of(0);
  CHECK(CPU_ISSET(core, &mine));
#else
  CHECK(current_core() == -1);
#endif
}

TEST_CASE("CoreExclusions moves a thread off one core and back", "[cores]") {
#if defined(__linux__)
  const cpu_set_t before = cores_of(0);
  int core = -1;
  for (int c = 0; c < CPU_SETSIZE && core < 0; ++c)
    if (CPU_ISSET(c, &before)) core = c;
  REQUIRE(core >= 0);
  CoreExclusions moved;
  cpu_set_t during;
  std::thread t([&] {
    moved.move_self_off(core);
    moved.move_self_off(core == 0 ? 1 : 0);  // moved already: kept as it is
    during = cores_of(0);
  });
  t.join();
  if (CPU_COUNT(&before) >= 2) {
    CHECK_FALSE(CPU_ISSET(core, &during));
    CHECK(CPU_COUNT(&during) == CPU_COUNT(&before) - 1);
  } else {
    CHECK(CPU_EQUAL(&during, &before));  // its only core: not moved
  }
  // The thread has ended: restoring passes over it.
  moved.restore();

  // A thread still running gets its cores back.
  std::atomic<pid_t> running{0};
  std::atomic<bool> done{false};
  std::thread u([&] {
    moved.move_self_off(core);
    running = gettid();
    while (!done) std::this_thread::yield();
  });
  while (running == 0) std::this_thread::yield();
  if (CPU_COUNT(&before) >= 2) {
    const cpu_set_t off = cores_of(running);
    CHECK_FALSE(CPU_ISSET(core, &off));
  }
  moved.restore();
  const cpu_set_t back = cores_of(running);
  CHECK(CPU_EQUAL(&back, &before));
  done = true;
  u.join();
#else
  CoreExclusions moved;
  moved.move_self_off(0);
  moved.restore();
  SUCCEED("nothing to move on this system");
#endif
}

TEST_CASE("OffCoreThread runs its body off the given core and joins", "[cores]") {
  bool ran = false;
#if defined(__linux__)
  const cpu_set_t mine = cores_of(0);
  const int core = current_core();
  cpu_set_t theirs;
  CPU_ZERO(&theirs);
  {
    OffCoreThread t(core, [&] {
      theirs = cores_of(0);
      ran = true;
    });
  }
  REQUIRE(ran);
  if (CPU_COUNT(&mine) >= 2) {
    CHECK_FALSE(CPU_ISSET(core, &theirs));
    CHECK(CPU_COUNT(&theirs) == CPU_COUNT(&mine) - 1);
  } else {
    CHECK(CPU_EQUAL(&theirs, &mine));
  }
  // No core to keep off: any of the caller's.
  {
    OffCoreThread t(-1, [&] { theirs = cores_of(0); });
  }
  CHECK(CPU_EQUAL(&theirs, &mine));
#else
  {
    OffCoreThread t(current_core(), [&] { ran = true; });
  }
  CHECK(ran);
#endif
}

TEST_CASE("A run started after RunStart writes its file", "[cores]") {
  const auto sc = scenario::load_scenario_file(testing::source_path("tests/data/determinism.yaml"),
                                               {"cities.count=3000", "time.steps=20"});
  testing::TempDir dir;
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads));
    {
      // Destroyed before any run: its thread stops waiting for a first stage and is joined.
      app::RunStart unused(threads, true);
    }
    app::RunStart start(threads, true);
    app::RunOptions opt;
    opt.output = dir / ("started" + std::to_string(threads) + ".h5");
    opt.threads = threads;
    const auto r = app::run_scenario(sc, opt);
    CHECK(r.output == opt.output);
    const auto datasets = testing::read_all_datasets(opt.output);
    CHECK(datasets.count("/series/adopters") == 1);
    CHECK(datasets.count("/network/random/targets") + datasets.count("/cities/id") >= 1);
  }
}

TEST_CASE("A file RunStart creates ahead is the run's, the same bytes, and gone if not taken",
          "[cores]") {
  const auto sc = scenario::load_scenario_file(testing::source_path("tests/data/determinism.yaml"),
                                               {"cities.count=3000", "time.steps=20"});
  testing::TempDir dir;
  auto files_in_dir = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  auto bytes_of = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads));
    app::RunOptions opt;
    opt.threads = threads;
    opt.volatile_metadata = false;
    opt.output = dir / "plain.h5";
    app::run_scenario(sc, opt);
    opt.output = dir / "ahead.h5";
    {
      app::RunStart start(threads, true, opt.output);
      const auto r = app::run_scenario(sc, opt);
      CHECK(r.output == opt.output);
    }
    CHECK(bytes_of(dir / "ahead.h5") == bytes_of(dir / "plain.h5"));
    {
      // The scenario asked for no run at this path: the file made for it goes.
      app::RunStart unused(threads, true, dir / "unused.h5");
      const std::string partial = "unused.h5.partial-" + std::to_string(::getpid());
      bool made = false;
      for (int i = 0; i < 2000 && !made; ++i) {
        const auto names = files_in_dir();
        made = std::find(names.begin(), names.end(), partial) != names.end();
        if (!made) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      CHECK(made);
    }
    CHECK(files_in_dir() == std::vector<std::string>{"ahead.h5", "plain.h5"});
  }
}

TEST_CASE("A run that writes a file leaves every thread on the cores it had", "[cores]") {
#if defined(__linux__)
  const auto sc = scenario::load_scenario_file(testing::source_path("tests/data/determinism.yaml"),
                                               {"cities.count=3000", "time.steps=20"});
  const std::string allowed = thread_cores().begin()->second;
  testing::TempDir dir;
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                            static_cast<std::size_t>(threads));
    app::RunOptions opt;
    opt.output = dir / ("run" + std::to_string(threads) + ".h5");
    opt.threads = threads;
    app::run_scenario(sc, opt);
    for (const auto& [tid, cores] : thread_cores()) {
      INFO("thread " << tid);
      CHECK(cores == allowed);
    }
  }
#else
  SUCCEED("nothing to move on this system");
#endif
}
