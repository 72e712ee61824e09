#include <hdf5.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/run_file.hpp"
#include "support/h5compare.hpp"
#include "support/process.hpp"

using namespace citynet;
using testing::run_citynet;
using testing::shell_quote;
using testing::source_path;
using testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string small_scenario(const TempDir& dir) {
  const std::string path = dir / "small.yaml";
  std::ofstream(path) << R"(name: small
seed: 5
time: {steps: 30, dt: 0.5, unit: year, start: 2000}
cities: {source: synthetic, count: 2000}
layers:
  - {name: random, kind: erdos_renyi, mean_degree: 8}
  - {name: world, kind: complete, influence: 0.3}
solutions:
  - {name: first, random_seeds: 2}
  - {name: second, seeds: [{id: 17, at: 2003}]}
rule: {kind: bass, bass: {p: 0.01, q: 0.9}}
)";
  return path;
}

std::vector<std::string> attribute_names(hid_t obj) {
  std::vector<std::string> names;
  H5Aiterate2(
      obj, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &names);
  return names;
}

}  // namespace

TEST_CASE("run writes a complete, self-describing HDF5 file", "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const std::string out = dir / "small.h5";
  const auto r = run_citynet("run " + shell_quote(scenario) + " -o " + shell_quote(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Adopters at the end") != std::string::npos);
  CHECK(r.out.find(out) != std::string::npos);
  REQUIRE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".partial") == std::string::npos);

  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const auto root_attrs = attribute_names(f);
  for (const char* a : {"format", "format_version", "citynet_version", "git_commit", "seed",
                        "threads", "rng_scheme", "steps", "wall_seconds", "complete"})
    CHECK(std::find(root_attrs.begin(), root_attrs.end(), a) != root_attrs.end());
  H5Fclose(f);

  const auto data = testing::read_all_datasets(out);
  for (const char* d : {"/scenario",
                        "/cities/id",
                        "/cities/name",
                        "/cities/country",
                        "/cities/latitude",
                        "/cities/longitude",
                        "/cities/population",
                        "/solutions/id",
                        "/solutions/name",
                        "/network/random/offsets",
                        "/network/random/targets",
                        "/network/random/weights",
                        "/network/world/offsets",
                        "/series/time",
                        "/series/adopters",
                        "/events/step",
                        "/events/city",
                        "/events/solution",
                        "/events/kind",
                        "/events/source",
                        "/events/layer"})
    CHECK(data.count(d) == 1);

  // Every dataset carries units and description.
  const hid_t f2 = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  for (const auto& [name, bytes] : data) {
    const hid_t d = H5Dopen2(f2, name.c_str(), H5P_DEFAULT);
    const auto attrs = attribute_names(d);
    INFO(name);
    CHECK(std::find(attrs.begin(), attrs.end(), "units") != attrs.end());
    CHECK(std::find(attrs.begin(), attrs.end(), "description") != attrs.end());
    H5Dclose(d);
  }
  H5Fclose(f2);

  // Shapes and consistency: adopters per state agree with the events.
  const std::size_t states = data.at("/series/time").size() / sizeof(double);
  CHECK(states == 31);
  const auto& adopters = data.at("/series/adopters");
  REQUIRE(adopters.size() == states * 2 * sizeof(std::int32_t));
  std::vector<std::int32_t> a(states * 2);
  std::memcpy(a.data(), adopters.data(), adopters.size());
  const auto& sol = data.at("/events/solution");
  std::vector<std::int32_t> per(2, 0);
  for (std::size_t i = 0; i < sol.size() / 4; ++i) {
    std::int32_t s;
    std::memcpy(&s, sol.data() + 4 * i, 4);
    ++per.at(static_cast<std::size_t>(s));
  }
  CHECK(per[0] == a[(states - 1) * 2 + 0]);
  CHECK(per[1] == a[(states - 1) * 2 + 1]);
  CHECK(a[0] == 2);  // two random seeds in the initial state
  CHECK(a[1] == 0);  // the second solution starts in 2003, step 6
  double t0;
  std::memcpy(&t0, data.at("/series/time").data(), sizeof t0);
  CHECK(t0 == 2000.0);

  // info reads it back.
  const auto info = run_citynet("info " + shell_quote(out));
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("scenario 'small'") != std::string::npos);
  CHECK(info.out.find("2000 cities") != std::string::npos);
}

TEST_CASE("The resolved scenario stored in a run file reproduces it", "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const std::string out1 = dir / "one.h5";
  REQUIRE(run_citynet("run --quiet " + shell_quote(scenario) + " --set rule.bass.q=0.7 -o " +
                      shell_quote(out1))
              .exit_code == 0);
  const auto data = testing::read_all_datasets(out1);
  std::string yaml = data.at("/scenario");
  yaml.pop_back();  // the terminating NUL of the string read
  CHECK(yaml.find("q: 0.7") != std::string::npos);
  const std::string resolved = dir / "resolved.yaml";
  std::ofstream(resolved) << yaml;
  const std::string out2 = dir / "two.h5";
  REQUIRE(
      run_citynet("run --quiet " + shell_quote(resolved) + " -o " + shell_quote(out2)).exit_code ==
      0);
  CHECK(testing::read_all_datasets(out2) == data);
}

TEST_CASE("The built-in default scenario runs from an empty directory", "[integration]") {
  TempDir dir;
  const auto r = run_citynet("run", dir.path().string());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::exists(dir / "world.h5"));
  CHECK(r.out.find("bike_sharing") != std::string::npos);
  CHECK(r.out.find("c40") != std::string::npos);
  const auto info = io::read_run_info(dir / "world.h5");
  CHECK(info.complete);
  CHECK(info.cities > 4000);
  CHECK(info.layers == std::vector<std::string>{"c40", "sister", "geographic", "informal"});
  // Curitiba's BRT and the other seeds start the spread; by 2030 solutions have spread widely.
  for (auto a : info.final_adopters) CHECK(a > 10);
}

TEST_CASE("Every bad scenario gives exit 2, its FILE:LINE:COL message and no output",
          "[integration]") {
  const fs::path bad_dir = source_path("tests/data/bad");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(bad_dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    const std::string marker = "# expect: ";
    REQUIRE(first.rfind(marker, 0) == 0);
    const std::string expect = first.substr(marker.size());
    // "LINE:COL: key: message-substring"
    const std::regex form(R"(^(\d+):(\d+): ([^:]+): (.*)$)");
    std::smatch m;
    REQUIRE(std::regex_match(expect, m, form));
    TempDir dir;
    const auto r = run_citynet("run " + shell_quote(entry.path().string()) + " -o out.h5",
                               dir.path().string());
    INFO(entry.path().filename() << "\n" << r.err);
    CHECK(r.exit_code == 2);
    const std::string located =
        entry.path().string() + ":" + m[1].str() + ":" + m[2].str() + ": " + m[3].str() + ": ";
    CHECK(r.err.find(located) != std::string::npos);
    CHECK(r.err.find(m[4].str()) != std::string::npos);
    CHECK(r.err.find("nothing was run") != std::string::npos);
    CHECK(fs::is_empty(dir.path()));
    const auto v = run_citynet("validate " + shell_quote(entry.path().string()));
    CHECK(v.exit_code == 2);
    CHECK(v.err.find(located) != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 12);
}

TEST_CASE("Seeds naming unknown cities are reported with did-you-mean", "[integration]") {
  TempDir dir;
  const std::string path = dir / "typo.yaml";
  std::ofstream(path) << R"(name: typo
cities: {source: csv, file: world_cities.csv}
data_dir: )" << source_path("scenarios/data")
                      << R"(
solutions:
  - name: brt
    seeds:
      - {city: Curitba, country: BR, at: 0}
)";
  const auto r = run_citynet("validate " + shell_quote(path));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(path + ":7:9: solutions[0].seeds[0]: ") != std::string::npos);
  CHECK(r.err.find("did you mean Curitiba?") != std::string::npos);
}

TEST_CASE("Usage mistakes exit 2 and say what to do", "[integration]") {
  CHECK(run_citynet("").exit_code == 2);
  const auto unknown = run_citynet("rnu");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("did you mean run?") != std::string::npos);
  CHECK(run_citynet("run --threads").exit_code == 2);
  CHECK(run_citynet("run --no-such-flag").exit_code == 2);
  const auto set = run_citynet("validate " + shell_quote(source_path("scenarios/world.yaml")) +
                               " --set rule.bass.qq=1");
  CHECK(set.exit_code == 2);
  CHECK(set.err.find("rule.bass.qq") != std::string::npos);
  CHECK(run_citynet("validate " + shell_quote(source_path("scenarios/world.yaml"))).exit_code == 0);
  const auto help = run_citynet("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("validate") != std::string::npos);
  const auto version = run_citynet("--version");
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("citynet 0.") != std::string::npos);
  CHECK(run_citynet("help run").out.find("--threads") != std::string::npos);
}

TEST_CASE("params lists every parameter and docs/parameters.md is current", "[integration]") {
  const auto r = run_citynet("params");
  REQUIRE(r.exit_code == 0);
  for (const char* key : {"time.steps", "rule.bass.p", "layers[].kind", "cities.min_population",
                          "rule.cascade.transmission", "output.compression"})
    CHECK(r.out.find(key) != std::string::npos);
  const auto md = run_citynet("params --markdown");
  REQUIRE(md.exit_code == 0);
  CHECK(md.out == testing::read_file(source_path("docs/parameters.md")));
}

TEST_CASE("info rejects files that are not complete citynet runs with exit 2", "[integration]") {
  TempDir dir;
  const std::string text = dir / "text.h5";
  std::ofstream(text) << "not hdf5";
  auto r = run_citynet("info " + shell_quote(text));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(text + ": not an HDF5 file") != std::string::npos);

  const std::string other = dir / "other.h5";
  const hid_t f = H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  r = run_citynet("info " + shell_quote(other));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not a citynet run file") != std::string::npos);

  CHECK(run_citynet("info " + shell_quote(dir / "missing.h5")).exit_code == 2);

  // A run file cut in half.
  const std::string scenario = small_scenario(dir);
  const std::string out = dir / "whole.h5";
  REQUIRE(
      run_citynet("run --quiet " + shell_quote(scenario) + " -o " + shell_quote(out)).exit_code ==
      0);
  const std::string bytes = testing::read_file(out);
  const std::string cut = dir / "cut.h5";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  r = run_citynet("info " + shell_quote(cut));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(cut + ": ") != std::string::npos);
}

TEST_CASE("An unwritable output leaves no file and exits 1", "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const auto r = run_citynet("run --quiet " + shell_quote(scenario) + " -o " +
                             shell_quote(dir / "no/such/dir/out.h5"));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot create the output file") != std::string::npos);
  CHECK(!fs::exists(dir / "no"));
}

TEST_CASE("A run under an existing file's name replaces it but leaves a directory alone",
          "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const std::string out = dir / "out.h5";
  auto seed_of = [](const std::string& path) {
    std::uint64_t seed = 0;
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t a = H5Aopen(f, "seed", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_UINT64, &seed);
    H5Aclose(a);
    H5Fclose(f);
    return seed;
  };
  for (const int seed : {5, 6}) {
    const auto r = run_citynet("run --quiet " + shell_quote(scenario) + " --seed " +
                               std::to_string(seed) + " -o " + shell_quote(out));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(seed_of(out) == static_cast<std::uint64_t>(seed));
  }
  const std::string taken = dir / "taken.h5";
  fs::create_directory(taken);
  std::ofstream(fs::path(taken) / "keep.txt") << "kept";
  const auto r = run_citynet("run --quiet " + shell_quote(scenario) + " -o " + shell_quote(taken));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot move the finished output to " + taken) != std::string::npos);
  CHECK(fs::is_directory(taken));
  CHECK(fs::exists(fs::path(taken) / "keep.txt"));
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".partial") == std::string::npos);
}

TEST_CASE("Cities that fail to load leave no file, though the output was being opened",
          "[integration]") {
  // The output file is opened while the cities load: a bad row found then must remove it.
  TempDir dir;
  std::ofstream(dir / "cities.csv") << "id,name,country_code,latitude,longitude,population\n"
                                    << "1,Alpha,AA,10.5,20.5,1000\n"
                                    << "2,Beta,BB,95.0,20.5,2000\n";
  const std::string path = dir / "bad_row.yaml";
  std::ofstream(path) << "name: bad_row\ncities: {source: csv, file: cities.csv}\ndata_dir: "
                      << dir.path().string() << "\nsolutions:\n  - {name: s, random_seeds: 1}\n";
  const auto r = run_citynet("run " + shell_quote(path) + " -o out.h5", dir.path().string());
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cities.csv:3") != std::string::npos);
  CHECK(r.err.find("outside [-90, 90]") != std::string::npos);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    CHECK((name == "cities.csv" || name == "bad_row.yaml"));
  }
}

TEST_CASE("run --no-output runs the scenario and writes nothing", "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const auto r =
      run_citynet("run --no-output --profile " + shell_quote(scenario), dir.path().string());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Adopters at the end") != std::string::npos);
  CHECK(r.out.find("Ran without output") != std::string::npos);
  CHECK(r.out.find("whole run") != std::string::npos);
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string() == "small.yaml");
  for (const char* other : {"-o x.h5", "--checkpoint-every 5", "--checkpoint x.ckpt"}) {
    INFO(other);
    const auto bad =
        run_citynet("run --no-output " + shell_quote(scenario) + " " + other, dir.path().string());
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--no-output") != std::string::npos);
  }
}

TEST_CASE("output.network false leaves the ties out and nothing else", "[integration]") {
  TempDir dir;
  const std::string scenario = small_scenario(dir);
  const std::string with = dir / "with.h5", without = dir / "without.h5";
  REQUIRE(run_citynet("run -q " + shell_quote(scenario) + " -o " + shell_quote(with) +
                      " --reproducible")
              .exit_code == 0);
  REQUIRE(run_citynet("run -q " + shell_quote(scenario) + " -o " + shell_quote(without) +
                      " --reproducible --set output.network=false")
              .exit_code == 0);
  auto all = testing::read_all_datasets(with);
  const auto lean = testing::read_all_datasets(without);
  CHECK(all.count("/network/random/targets") == 1);
  std::size_t network = 0;
  for (auto it = all.begin(); it != all.end();) {
    if (it->first.rfind("/network/", 0) == 0) {
      it = all.erase(it);
      ++network;
    } else {
      ++it;
    }
  }
  CHECK(network == 6);  // offsets, targets, weights of two layers
  // The scenario text differs by the setting itself; every other dataset is the same.
  all.erase("/scenario");
  auto rest = lean;
  rest.erase("/scenario");
  CHECK(rest == all);
  const auto info = run_citynet("info " + shell_quote(without));
  CHECK(info.exit_code == 0);
}
