#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "scenario/loader.hpp"

// Every file in tests/data/bad holds one mistake and says on its first line which diagnostic
// comes first: "# expect: LINE:COL: key: message-substring".
TEST_CASE("Each bad scenario file fails with the diagnostic it expects", "[unit]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(CITYNET_SOURCE_DIR) / "tests" / "data" / "bad";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 14);

  const std::regex expect_line(R"(^# expect: (\d+):(\d+): ([^:]+): (.+)$)");
  for (const auto& file : files) {
    INFO(file.filename().string());
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    std::smatch m;
    REQUIRE(std::regex_match(first, m, expect_line));
    try {
      citynet::scenario::load_scenario_file(file.string());
      FAIL("loaded without error");
    } catch (const citynet::InputError& e) {
      REQUIRE(!e.diagnostics().empty());
      const auto& d = e.diagnostics().front();
      INFO(d.format());
      CHECK(d.where.file == file.string());
      CHECK(d.where.line == std::stoi(m[1]));
      CHECK(d.where.column == std::stoi(m[2]));
      CHECK(d.key == m[3].str());
      CHECK(d.message.find(m[4].str()) != std::string::npos);
      // Each file holds one mistake, so it is the only problem reported.
      CHECK(e.diagnostics().size() == 1);
    }
  }
}
