#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/process.hpp"

using citynet::testing::read_file;
using citynet::testing::run_citynet;
using citynet::testing::shell_quote;
using citynet::testing::source_path;
using citynet::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("A run killed with SIGKILL resumes from its checkpoint to an identical file",
          "[integration]") {
  const std::vector<std::vector<std::string>> scenarios = {
      {},  // the built-in world scenario: the city model
      {source_path("scenarios/validation/cascade.yaml"), "--set", "rule.kind=bass", "--set",
       "time.steps=400"},
  };
  for (const auto& scenario : scenarios) {
    for (int extra_ms : {0, 150}) {
      TempDir dir;
      const std::string whole = dir / "whole.h5", part = dir / "part.h5";
      std::string common;
      for (const auto& a : scenario) common += " " + shell_quote(a);
      REQUIRE(run_citynet("run --quiet --reproducible" + common + " -o " + shell_quote(whole))
                  .exit_code == 0);
      std::vector<std::string> args = scenario;
      for (const char* a : {"--quiet", "--reproducible", "--checkpoint-every", "20", "-o"})
        args.emplace_back(a);
      args.push_back(part);
      args.insert(args.begin(), "run");
      citynet::testing::run_citynet_and_signal(
          args, [&] { return fs::exists(part + ".ckpt"); }, SIGKILL, extra_ms);
      INFO("scenario" << common << ", killed " << extra_ms << " ms after the first checkpoint");
      if (fs::exists(part)) continue;  // it finished before the kill: nothing to resume
      REQUIRE(fs::exists(part + ".ckpt"));
      const auto r = run_citynet("run --quiet --resume " + shell_quote(part + ".ckpt") +
                                 " --checkpoint-every 20");
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(read_file(part) == read_file(whole));
      CHECK_FALSE(fs::exists(part + ".ckpt"));
      CHECK_FALSE(fs::exists(part + ".ckpt.journal"));
      for (const auto& e : fs::directory_iterator(dir.path()))
        CHECK(e.path().filename().string().find(".partial") == std::string::npos);
    }
  }
}

TEST_CASE("Resuming from something that is not a checkpoint is an input error", "[integration]") {
  TempDir dir;
  const std::string bogus = dir / "bogus.ckpt";
  std::ofstream(bogus) << "hello";
  auto r = run_citynet("run --resume " + shell_quote(bogus));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a citynet checkpoint") != std::string::npos);
  r = run_citynet("run --resume " + shell_quote(dir / "missing.ckpt"));
  CHECK(r.exit_code == 2);
  r = run_citynet("run --resume " + shell_quote(bogus) + " --seed 3");
  CHECK(r.exit_code == 2);
}
