#include "core/embedded.hpp"

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace citynet::embedded_data {
struct Entry {
  std::string_view name;
  std::string_view bytes;
};
extern const Entry kEntries[];
extern const std::size_t kEntryCount;
}  // namespace citynet::embedded_data

namespace citynet {

std::optional<std::string_view> embedded_file(std::string_view relative_path) {
  for (std::size_t i = 0; i < embedded_data::kEntryCount; ++i)
    if (embedded_data::kEntries[i].name == relative_path) return embedded_data::kEntries[i].bytes;
  return std::nullopt;
}

std::vector<std::string> embedded_file_names() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < embedded_data::kEntryCount; ++i)
    names.emplace_back(embedded_data::kEntries[i].name);
  return names;
}

std::optional<SourceText> read_data_file(const std::string& base_dir, const std::string& path) {
  namespace fs = std::filesystem;
  const bool built_in = base_dir == kBuiltInDataDir;
  fs::path p(path);
  if (!built_in && p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
  if (!built_in) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return SourceText{p.string(), ss.str()};
  }
  const std::string rel = (fs::path("scenarios") / fs::path(path)).lexically_normal().string();
  if (auto bytes = embedded_file(rel))
    return SourceText{std::string(kBuiltInDataDir) + "/scenarios/" + path, std::string(*bytes)};
  return std::nullopt;
}

}  // namespace citynet
