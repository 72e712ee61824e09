#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "io/run_file.hpp"
#include "support/process.hpp"

extern char** environ;

using namespace citynet;
using testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Starts `citynet run` on a long classic scenario, waits until it is well into its steps,
// sends `sig`, and returns the exit code.
int run_and_signal(const std::string& out, int sig, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      CITYNET_BINARY,       "run", "--quiet", "--set", "rule.kind=bass", "--set",
      "time.steps=2000000", "-o",  out};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, CITYNET_BINARY, nullptr, nullptr, argv.data(), environ) == 0);
  // Wait for the partial file: the run has set up and is stepping.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool started = false;
  while (!started && std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
      if (e.path().filename().string().find(".partial-") != std::string::npos) started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(started);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("SIGTERM stops a run at the end of a step with a valid file marked incomplete",
          "[integration]") {
  TempDir dir;
  const std::string out = dir / "run.h5";
  CHECK(run_and_signal(out, SIGTERM) == 128 + SIGTERM);
  REQUIRE(fs::exists(out));
  const auto info = io::read_run_info(out);
  CHECK_FALSE(info.complete);
  CHECK(info.final_time > 2000.0);
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".partial") == std::string::npos);
}

TEST_CASE("SIGINT with --discard-interrupted leaves no file", "[integration]") {
  TempDir dir;
  const std::string out = dir / "run.h5";
  CHECK(run_and_signal(out, SIGINT, {"--discard-interrupted"}) == 128 + SIGINT);
  CHECK(fs::is_empty(dir.path()));
}
