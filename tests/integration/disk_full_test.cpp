#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/process.hpp"

using citynet::testing::run_citynet;
using citynet::testing::shell_quote;
using citynet::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("A full disk mid-run leaves no file and says what happened", "[integration]") {
  TempDir dir;
  const std::string small = dir / "small";
  fs::create_directory(small);
  // A 600 kB tmpfs holds the start of the world scenario's file but not all of it.
  if (mount("tmpfs", small.c_str(), "tmpfs", 0, "size=600k") != 0) {
    WARN("cannot mount a small tmpfs here (needs root); the full-disk case is not tested");
    return;
  }
  const auto r =
      run_citynet("run --quiet -o " + shell_quote(small + "/world.h5"), dir.path().string());
  const bool empty = fs::is_empty(small);
  umount2(small.c_str(), MNT_DETACH);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot write") != std::string::npos);
  CHECK(r.err.find("disk full") != std::string::npos);
  CHECK(empty);
}
