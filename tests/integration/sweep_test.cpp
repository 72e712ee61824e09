#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "support/h5compare.hpp"
#include "support/process.hpp"

using citynet::testing::read_file;
using citynet::testing::run_citynet;
using citynet::testing::shell_quote;
using citynet::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// 500 synthetic cities, 20 steps: a run takes a few milliseconds.
void write_scenario(const TempDir& dir, int steps = 20, int cities = 500) {
  std::ofstream(dir / "tiny.yaml")
      << "name: tiny\nseed: 5\n"
      << "time: {steps: " << steps << ", dt: 0.5, unit: year, start: 2000}\n"
      << "cities: {source: synthetic, count: " << cities << "}\n"
      << R"(layers:
  - {name: random, kind: erdos_renyi, mean_degree: 6}
  - {name: world, kind: complete, influence: 0.3}
solutions:
  - {name: first, random_seeds: 2}
  - {name: second, seeds: [{id: 300}]}
rule: {kind: bass, bass: {p: 0.01, q: 0.9}}
)";
}

// 4 points x 2 replications: a grid on q and a range on p.
std::string write_grid_sweep(const TempDir& dir) {
  write_scenario(dir);
  const std::string path = dir / "grid.yaml";
  std::ofstream(path) << R"(name: tiny-grid
scenario: tiny.yaml
seed: 11
replications: 2
design:
  kind: grid
  parameters:
    rule.bass.q: [0.2, 0.6]
    rule.bass.p: {from: 0.01, to: 0.02, step: 0.01}
)";
  return path;
}

std::string sweep_cmd(const std::string& sweep, const std::string& out,
                      const std::string& extra = "") {
  return "sweep " + shell_quote(sweep) + " --out " + shell_quote(out) + " -q " + extra;
}

// Run file name -> bytes.
std::map<std::string, std::string> run_files(const std::string& out) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(out + "/runs"))
    files[e.path().filename().string()] = read_file(e.path());
  return files;
}

// Every dataset of the index except those that say how the sweep ran (time, threads, host).
std::map<std::string, std::string> index_content(const std::string& path) {
  auto all = citynet::testing::read_all_datasets(path);
  for (const char* v : {"/runs/wall_seconds", "/runs/threads", "/runs/host"}) all.erase(v);
  return all;
}

bool have_mpirun() {
  return std::system("command -v mpirun >/dev/null 2>&1") == 0;
}

std::string mpirun(int ranks) {
  std::string cmd = "mpirun -n " + std::to_string(ranks) + " --oversubscribe";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  return cmd;
}

std::size_t count_records(const std::string& out) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(out + "/records", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".yaml") ++n;
  return n;
}

}  // namespace

TEST_CASE("A small sweep runs every point and writes run files and an index", "[integration]") {
  TempDir dir;
  const std::string sweep = write_grid_sweep(dir);
  const std::string out = dir / "out";
  const auto r = run_citynet(sweep_cmd(sweep, out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int i = 0; i < 8; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/runs/run-%06d.h5", i);
    CHECK(fs::exists(out + name));
  }
  CHECK(!fs::exists(out + "/runs/run-000008.h5"));
  const auto idx = citynet::testing::read_all_datasets(out + "/sweep.h5");
  for (const char* col :
       {"/runs/index", "/runs/rule.bass.q", "/runs/rule.bass.p", "/runs/replication", "/runs/seed",
        "/runs/status", "/runs/wall_seconds", "/runs/file", "/runs/final_adopters.first",
        "/runs/time_to_50.second", "/runs/adoptions.random", "/runs/adoptions.no_tie", "/sweep",
        "/scenario"})
    CHECK(idx.count(col) == 1);
  // Fixed-length text, as wide as the longest value.
  std::string done;
  for (int i = 0; i < 8; ++i) done += "done";
  CHECK(idx.at("/runs/status") == done);
  // The external links reach the run files.
  const hid_t f = H5Fopen((out + "/sweep.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(H5Oexists_by_name(f, "/files/run-000007/series/adopters", H5P_DEFAULT) > 0);
  H5Fclose(f);

  // Each run's random key comes from the sweep seed and its run index, both in its file.
  for (std::uint64_t i : {0u, 5u}) {
    char name[32];
    std::snprintf(name, sizeof name, "/runs/run-%06d.h5", static_cast<int>(i));
    const hid_t rf = H5Fopen((out + name).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(rf >= 0);
    std::uint64_t seed = 0, run_index = 99;
    const hid_t a1 = H5Aopen(rf, "seed", H5P_DEFAULT);
    H5Aread(a1, H5T_NATIVE_UINT64, &seed);
    H5Aclose(a1);
    const hid_t a2 = H5Aopen(rf, "run_index", H5P_DEFAULT);
    H5Aread(a2, H5T_NATIVE_UINT64, &run_index);
    H5Aclose(a2);
    H5Fclose(rf);
    CHECK(seed == 11);
    CHECK(run_index == i);
  }
  // Two replications of one point are different runs.
  CHECK(read_file(out + "/runs/run-000000.h5") != read_file(out + "/runs/run-000001.h5"));

  // Run again: nothing left to do, and the same files.
  const auto before = run_files(out);
  const auto again = run_citynet(sweep_cmd(sweep, out));
  CHECK(again.exit_code == 0);
  CHECK(run_files(out) == before);
  const auto status = run_citynet("sweep --status " + shell_quote(out));
  CHECK(status.out.find("done            8") != std::string::npos);
}

TEST_CASE("Run files are identical for any jobs, threads and MPI ranks", "[integration]") {
  TempDir dir;
  const std::string sweep = write_grid_sweep(dir);
  REQUIRE(run_citynet(sweep_cmd(sweep, dir / "a", "--jobs 1 --threads 1")).exit_code == 0);
  REQUIRE(run_citynet(sweep_cmd(sweep, dir / "b", "--jobs 2 --threads 2")).exit_code == 0);
  REQUIRE(run_citynet(sweep_cmd(sweep, dir / "c", "--jobs 1 --threads 2")).exit_code == 0);
  const auto a = run_files(dir / "a");
  REQUIRE(a.size() == 8);
  CHECK(run_files(dir / "b") == a);
  CHECK(run_files(dir / "c") == a);
  if (!have_mpirun()) {
    WARN("mpirun not found: the MPI part of this test is skipped (apt-get install openmpi-bin)");
    return;
  }
  for (int ranks : {2, 3}) {
    const std::string out = dir / ("mpi" + std::to_string(ranks));
    const std::string cmd = "cd " + shell_quote(dir.path().string()) + " && " + mpirun(ranks) +
                            " " + shell_quote(CITYNET_BINARY) + " " + sweep_cmd(sweep, out) +
                            " >/dev/null 2>" + shell_quote(dir / "mpi.err");
    const int rc = std::system(cmd.c_str());
    INFO(read_file(dir / "mpi.err"));
    REQUIRE(rc == 0);
    CHECK(run_files(out) == a);
    CHECK(index_content(out + "/sweep.h5") == index_content(dir / "a/sweep.h5"));
  }
}

TEST_CASE("Two shards and a merge give the index of the whole sweep", "[integration]") {
  TempDir dir;
  const std::string sweep = write_grid_sweep(dir);
  REQUIRE(run_citynet(sweep_cmd(sweep, dir / "whole")).exit_code == 0);
  const std::string out = dir / "sharded";
  REQUIRE(run_citynet(sweep_cmd(sweep, out, "--shard 1/2")).exit_code == 0);
  const auto partial = run_citynet("sweep --status " + shell_quote(out));
  CHECK(partial.out.find("done            4") != std::string::npos);
  CHECK(partial.out.find("todo            4") != std::string::npos);
  REQUIRE(run_citynet(sweep_cmd(sweep, out, "--shard 0/2")).exit_code == 0);
  CHECK(fs::exists(out + "/shards/shard-0-of-2.h5"));
  CHECK(fs::exists(out + "/shards/shard-1-of-2.h5"));
  REQUIRE(run_citynet("sweep --merge " + shell_quote(out) + " -q").exit_code == 0);
  CHECK(run_files(out) == run_files(dir / "whole"));
  CHECK(index_content(out + "/sweep.h5") == index_content(dir / "whole/sweep.h5"));
}

TEST_CASE("A sweep killed mid-way and resumed gives the uninterrupted results", "[integration]") {
  TempDir dir;
  write_scenario(dir, 150, 2000);
  const std::string sweep = dir / "lhs.yaml";
  std::ofstream(sweep) << R"(scenario: tiny.yaml
seed: 3
replications: 3
design:
  kind: lhs
  samples: 12
  parameters:
    rule.bass.q: {min: 0.1, max: 0.9}
    cities.count: {min: 1000, max: 3000}
)";
  REQUIRE(run_citynet(sweep_cmd(sweep, dir / "whole", "--jobs 2")).exit_code == 0);

  const std::string out = dir / "killed";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(CITYNET_BINARY, CITYNET_BINARY, "sweep", sweep.c_str(), "--out", out.c_str(), "--jobs",
            "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it, without warning, once some runs are recorded and before all are.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (count_records(out) < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::size_t recorded = count_records(out);
  INFO("runs recorded when killed: " << recorded);
  CHECK(recorded < 36);

  const auto resumed = run_citynet(sweep_cmd(sweep, out, "--jobs 1"));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(run_files(out) == run_files(dir / "whole"));
  CHECK(index_content(out + "/sweep.h5") == index_content(dir / "whole/sweep.h5"));
  for (const auto& e : fs::directory_iterator(out + "/runs"))
    CHECK(e.path().filename().string().find(".partial-") == std::string::npos);
}

TEST_CASE("A failing run is recorded and the sweep goes on", "[integration]") {
  TempDir dir;
  write_scenario(dir);
  const std::string sweep = dir / "fail.yaml";
  // With 100 cities, the seed city id 300 of solution `second` does not exist: only the world,
  // built at run time, can tell.
  std::ofstream(sweep) << "scenario: tiny.yaml\ndesign:\n  kind: grid\n  parameters:\n"
                          "    cities.count: [100, 500]\n";
  const std::string out = dir / "out";
  const auto r = run_citynet(sweep_cmd(sweep, out));
  CHECK(r.exit_code == 1);
  CHECK(fs::exists(out + "/runs/run-000001.h5"));
  const auto status = run_citynet("sweep --status " + shell_quote(out));
  CHECK(status.out.find("failed          1") != std::string::npos);
  CHECK(status.out.find("run 0 (cities.count=100):") != std::string::npos);
  CHECK(status.out.find("no loaded city has id 300") != std::string::npos);
}

TEST_CASE("An output directory holding another sweep is refused", "[integration]") {
  TempDir dir;
  const std::string sweep = write_grid_sweep(dir);
  const std::string out = dir / "out";
  REQUIRE(run_citynet(sweep_cmd(sweep, out)).exit_code == 0);
  const std::string other = dir / "other.yaml";
  std::ofstream(other) << "scenario: tiny.yaml\nseed: 12\n";
  const auto r = run_citynet(sweep_cmd(other, out));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("holds results of another sweep") != std::string::npos);
}

TEST_CASE("Bad sweep files stop with FILE:LINE:COL and exit code 2", "[integration]") {
  TempDir dir;
  write_scenario(dir);
  const std::string sweep = dir / "bad.yaml";
  std::ofstream(sweep) << "scenario: tiny.yaml\ndesign:\n  kind: grid\n  parameters:\n"
                          "    rule.bass.qq: [0.1]\n    rule.bass.p: [2]\n";
  const auto r = run_citynet(sweep_cmd(sweep, dir / "out"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.yaml:5:5: rule.bass.qq: unknown parameter (did you mean rule.bass.q?)") !=
        std::string::npos);
  CHECK(r.err.find("bad.yaml:6:19: rule.bass.p: 2 is outside the allowed range 0 .. 1") !=
        std::string::npos);
  CHECK(!fs::exists(dir / "out"));
  CHECK(run_citynet("sweep " + shell_quote(sweep)).exit_code == 2);  // no --out: usage
}

TEST_CASE("The emitted Slurm script runs the shards as an array and merges", "[integration]") {
  TempDir dir;
  const std::string sweep = write_grid_sweep(dir);
  const std::string script = dir / "job.sbatch";
  const auto r = run_citynet(sweep_cmd(
      sweep, dir / "out", "--emit-slurm " + shell_quote(script) + " --shards 3 --cpus-per-task 2"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string text = read_file(script);
  CHECK(text.find("#SBATCH --array=0-2\n") != std::string::npos);
  CHECK(text.find("#SBATCH --cpus-per-task=2\n") != std::string::npos);
  CHECK(text.find(" sweep " + fs::path(sweep).string()) != std::string::npos);
  CHECK(text.find("--shard \"${SLURM_ARRAY_TASK_ID}/3\"") != std::string::npos);
  CHECK(text.find("sweep --merge " + (dir / "out")) != std::string::npos);
  CHECK(text.find("--dependency=afterany:") != std::string::npos);
  CHECK(std::system(("bash -n " + shell_quote(script)).c_str()) == 0);
  // The script's task command, run by hand for each array index, completes the sweep.
  for (int k = 0; k < 3; ++k)
    REQUIRE(run_citynet(sweep_cmd(sweep, dir / "out", "--shard " + std::to_string(k) + "/3"))
                .exit_code == 0);
  REQUIRE(run_citynet("sweep --merge " + shell_quote(dir / "out") + " -q").exit_code == 0);
  CHECK(run_files(dir / "out").size() == 8);
}
