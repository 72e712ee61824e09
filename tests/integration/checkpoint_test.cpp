#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/checkpoint.hpp"
#include "core/error.hpp"
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
      // Appended in two parts: GCC 12 warns (-Wrestrict) on " " + a temporary here.
      for (const auto& a : scenario) {
        common += ' ';
        common += shell_quote(a);
      }
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

TEST_CASE("A checkpoint is written only once its journal can be synced", "[integration]") {
  TempDir dir;
  const std::string path = dir / "written.ckpt";
  citynet::app::Checkpoint c;
  c.scenario_yaml = "name: x\n";
  c.step = 7;
  // Without its journal there is nothing the checkpoint could be resumed with.
  CHECK_THROWS_AS(citynet::app::write_checkpoint(path, c), citynet::RunError);
  CHECK(!fs::exists(path));
  std::ofstream(citynet::app::journal_path(path)) << "records";
  citynet::app::write_checkpoint(path, c);
  CHECK(citynet::app::read_checkpoint(path).step == 7);
  CHECK(!fs::exists(path + ".tmp"));
  citynet::app::sync_to_disk(path, "the checkpoint");
  const std::string missing = dir / "missing.journal";
  std::string message;
  try {
    citynet::app::sync_to_disk(missing, "the checkpoint journal");
  } catch (const citynet::RunError& e) {
    message = e.what();
  }
  CHECK(message.find("cannot sync the checkpoint journal") != std::string::npos);
  CHECK(message.find(missing) != std::string::npos);
}
