#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz/fuzz_entry.hpp"
#include "support/process.hpp"

// Every input the fuzzers ever found (scripts/fuzz copies them into tests/fuzz/regressions/ as
// TARGET-KIND-HASH) goes through the same entry point again in the ordinary build: it must end
// in success or an InputError, nothing else.
TEST_CASE("Every fuzzer finding replays without a crash", "[unit]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(CITYNET_SOURCE_DIR) / "tests" / "fuzz" / "regressions";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().starts_with("fuzz_"))
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    INFO(name);
    const std::string bytes = citynet::testing::read_file(file);
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (name.starts_with("fuzz_scenario-"))
      CHECK_NOTHROW(citynet::fuzz::scenario_input(data, bytes.size()));
    else if (name.starts_with("fuzz_csv-"))
      CHECK_NOTHROW(citynet::fuzz::csv_input(data, bytes.size()));
    else
      FAIL("a regression file must be named fuzz_scenario-* or fuzz_csv-*");
  }
}
