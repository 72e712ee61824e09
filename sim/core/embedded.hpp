#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citynet {

// Files compiled into the binary (see CITYNET_EMBEDDED_FILES in CMakeLists.txt), by their path
// relative to the source tree, e.g. "scenarios/world.yaml" or "scenarios/data/c40_members.csv".
std::optional<std::string_view> embedded_file(std::string_view relative_path);
std::vector<std::string> embedded_file_names();

// The text of a data file named in a scenario: `path` is taken relative to `base_dir` when it is
// not absolute. The data directory kBuiltInDataDir names the copies embedded under scenarios/, so
// the built-in default scenario (and its resolved YAML, re-run anywhere) needs no file at hand.
inline constexpr std::string_view kBuiltInDataDir = "<built-in>";

struct SourceText {
  std::string display_name;  // what error messages call the file
  std::string text;
};

// Resolves and reads a data file; std::nullopt when it does not exist or cannot be read.
std::optional<SourceText> read_data_file(const std::string& base_dir, const std::string& path);

}  // namespace citynet
