#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/process.hpp"

// The command line handed hostile files: every one is bad input (exit 2) with a message naming
// the file, never a crash, a hang or an exhausted memory, and nothing is written.

using citynet::testing::run_citynet;
using citynet::testing::shell_quote;
using citynet::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kValid = "layers: [{name: a, kind: complete}]\nsolutions: [{name: s}]\n";

std::string write(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Runs `citynet run FILE -o out.h5` in `dir`; requires exit 2, `says` in stderr and no output.
void expect_refused(const TempDir& dir, const std::string& file, const std::string& says) {
  const auto r = run_citynet("run " + shell_quote(file) + " -o out.h5", dir.path().string());
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, says));
  CHECK(contains(r.err, "nothing was run"));
  CHECK_FALSE(fs::exists(dir.path() / "out.h5"));
}

}  // namespace

TEST_CASE("run refuses deeply nested, huge and alias-bomb YAML with exit 2", "[integration]") {
  TempDir dir;
  expect_refused(dir, write(dir, "deep.yaml", "name: " + repeat("[", 10000) + "\n"), "nested");
  expect_refused(dir, write(dir, "deep_block.yaml", "name:\n  " + repeat("- ", 10000) + "x\n"),
                 "nested");
  expect_refused(
      dir,
      write(dir, "huge.yaml", kValid + "description: \"" + std::string(50u << 20, 'x') + "\"\n"),
      "a scenario is a short text file");
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    bomb += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j ? ", *a" : "*a") + std::to_string(level - 1);
    bomb += "]\n";
  }
  expect_refused(dir, write(dir, "bomb.yaml", bomb), "more than 1000000 values");
}

TEST_CASE("run refuses a device or a pipe that never ends", "[integration]") {
  TempDir dir;
  expect_refused(dir, "/dev/zero", "/dev/zero: yaml: the file holds 1048577 bytes");
  expect_refused(dir, "/dev/urandom", "a scenario is a short text file");
}

TEST_CASE("run refuses non-UTF-8, NaN and absurd counts with FILE:LINE:COL", "[integration]") {
  TempDir dir;
  expect_refused(dir, write(dir, "latin1.yaml", kValid + "name: S\xE3o Paulo\n"),
                 "latin1.yaml:3:8: yaml: byte 0xE3 is not UTF-8");
  expect_refused(dir, write(dir, "utf16.yaml", "\xFF\xFEn\0a\0m\0e\0"), "UTF-16");
  expect_refused(dir, write(dir, "nan.yaml", kValid + "time: {dt: .nan}\n"),
                 "nan.yaml:3:12: time.dt: '.nan' is not a finite number");
  expect_refused(dir, write(dir, "count.yaml", kValid + "cities: {count: 1e12}\n"),
                 "count.yaml:3:17: cities.count: 1e12 is above the maximum");
  expect_refused(
      dir,
      write(dir, "dense.yaml",
            "cities: {count: 10000000}\nlayers: [{name: a, kind: erdos_renyi, mean_degree: "
            "100000}]\nsolutions: [{name: s}]\n"),
      "dense.yaml:2:52: layers[0].mean_degree: the layer would have about 5e+11 ties");
}

TEST_CASE("run refuses broken city and edge files with FILE:LINE", "[integration]") {
  TempDir dir;
  write(dir, "cities.csv",
        "\xEF\xBB\xBFid,name,country_code,latitude,longitude,population\r\n"
        "1,A,AA,0,0,100\r\n2,B,BB,10,10,100\r\n3,C,CC,20,20,100\r\n");
  write(dir, "ties.csv", "source,target\r\n1,2\r\n2,3\r\n3,7\r\n1,x\r\n");
  const std::string scenario = write(dir, "s.yaml",
                                     "cities: {source: csv, file: cities.csv}\n"
                                     "layers: [{name: t, kind: edges, file: ties.csv}]\n"
                                     "solutions: [{name: s, seeds: [{id: 1}]}]\n");
  const auto r = run_citynet("run " + shell_quote(scenario) + " -o out.h5", dir.path().string());
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "ties.csv:4: city id 7 in column 'target' is not among the loaded cities"));
  CHECK(contains(r.err, "ties.csv:5: column 'target': 'x' is not a city id"));
  CHECK(contains(r.err, "s.yaml:2:"));  // the hint names layers[0].skip_unknown_cities
  CHECK_FALSE(fs::exists(dir.path() / "out.h5"));

  write(dir, "cities.csv",
        "id,name,country_code,latitude,longitude,population\n1,Z\xFCrich,CH,0,0,1\n");
  const auto latin1 = run_citynet("validate " + shell_quote(scenario), dir.path().string());
  CHECK(latin1.exit_code == 2);
  CHECK(contains(latin1.err, "cities.csv:2:4: byte 0xFC is not UTF-8"));

  write(dir, "cities.csv", "");
  const auto empty = run_citynet("validate " + shell_quote(scenario), dir.path().string());
  CHECK(empty.exit_code == 2);
  CHECK(contains(empty.err, "cities.csv: empty file, expected a header row"));
}

TEST_CASE("citynet loads no library from the directory it runs in", "[integration]") {
  // An empty entry in the binary's library search path would mean the current directory, where
  // these files would be loaded instead of the system's.
  TempDir dir;
  for (const char* name : {"libz.so.1", "libtbb.so.12", "libstdc++.so.6", "libm.so.6", "libc.so.6",
                           "libgcc_s.so.1", "libmpi.so.40", "libyaml-cpp.so.0.7"})
    write(dir, name, "not a library");
  const auto r = run_citynet("--version", dir.path().string());
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "citynet"));
}
