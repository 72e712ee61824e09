#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "io/run_file.hpp"
#include "support/process.hpp"

using namespace citynet;
using testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Starts `citynet run` on a long classic scenario and sends `sig` once it is well into its steps
// (its partial file exists); returns the exit code.
int run_and_signal(const std::string& out, int sig, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "run", "--quiet", "--set", "rule.kind=bass", "--set", "time.steps=2000000", "-o", out};
  args.insert(args.end(), extra.begin(), extra.end());
  auto started = [&] {
    for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
      if (e.path().filename().string().find(".partial-") != std::string::npos) return true;
    return false;
  };
  return testing::run_citynet_and_signal(args, started, sig, 500);
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
