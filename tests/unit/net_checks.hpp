#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "net/network.hpp"

namespace citynet::test {

// The CSR promises of net::Layer: offsets cover the arrays, rows sorted by target without
// duplicates or self-loops, and every tie stored in both directions with the same weight.
// Checked with one CHECK per property so that a failure does not print millions of lines.
inline void check_csr_invariants(const net::Layer& layer, CityId n) {
  REQUIRE_FALSE(layer.complete);
  REQUIRE(layer.offsets.size() == static_cast<std::size_t>(n) + 1);
  REQUIRE(layer.offsets.front() == 0);
  REQUIRE(layer.offsets.back() == layer.edge_count());
  REQUIRE(layer.weights.size() == layer.targets.size());
  bool monotone = true, in_range = true, sorted_unique = true, no_self = true, symmetric = true;
  for (CityId c = 0; c < n; ++c) {
    const auto first = layer.offsets[c], last = layer.offsets[c + 1];
    if (last < first) {
      monotone = false;
      continue;
    }
    for (auto k = first; k < last; ++k) {
      const CityId t = layer.targets[k];
      if (t < 0 || t >= n) {
        in_range = false;
        continue;
      }
      if (k > first && layer.targets[k - 1] >= t) sorted_unique = false;
      if (t == c) no_self = false;
      const auto row_first = layer.targets.begin() + layer.offsets[t];
      const auto row_last = layer.targets.begin() + layer.offsets[t + 1];
      const auto back = std::lower_bound(row_first, row_last, c);
      if (back == row_last || *back != c ||
          layer.weights[back - layer.targets.begin()] != layer.weights[k])
        symmetric = false;
    }
  }
  CHECK(monotone);
  CHECK(in_range);
  CHECK(sorted_unique);
  CHECK(no_self);
  CHECK(symmetric);
}

inline bool has_tie(const net::Layer& layer, CityId a, CityId b) {
  const auto first = layer.targets.begin() + layer.offsets[a];
  const auto last = layer.targets.begin() + layer.offsets[a + 1];
  return std::binary_search(first, last, b);
}

// A fresh directory under the system temp dir for files a test writes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("citynet_" + tag + "_" + std::to_string(::getpid()) + "_" +
             std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace citynet::test
