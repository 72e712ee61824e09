#pragma once

// The entry points the fuzz targets drive, shared with the regression test that replays every
// input in tests/fuzz/regressions/ in the ordinary build. Each takes raw bytes and may throw only
// InputError; anything else escaping, a crash or a sanitizer report is a finding.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "io/csv.hpp"
#include "model/cities.hpp"
#include "net/network.hpp"
#include "scenario/loader.hpp"

namespace citynet::fuzz {

// A directory of this process for the files the loaders read, removed when the process exits.
inline const std::filesystem::path& scratch_dir() {
  struct Scratch {
    std::filesystem::path path;
    Scratch() {
      std::string templ = (std::filesystem::temp_directory_path() / "citynet-fuzz-XXXXXX").string();
      if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      path = templ;
    }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Scratch dir;
  return dir.path;
}

inline void write_file(const std::string& name, std::string_view bytes) {
  std::ofstream out(scratch_dir() / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Scenario YAML: parsed, overlaid on the defaults and validated. Data paths resolve in the
// scratch directory, which holds no data, so `extends:` and files are reported missing.
inline void scenario_input(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    scenario::load_scenario_text(text, "fuzz.yaml", scratch_dir().string());
  } catch (const InputError&) {
  }
}

// Five cities with external ids 1..5, the ids the CSV seeds use.
inline const model::CityTable& five_cities() {
  static const model::CityTable cities = [] {
    model::CityTable t;
    for (int i = 1; i <= 5; ++i) {
      t.id.push_back(i);
      t.name.push_back("c" + std::to_string(i));
      t.country.push_back("AA");
      t.latitude.push_back(i);
      t.longitude.push_back(i);
      t.population.push_back(1000.0 * i);
    }
    return t;
  }();
  return cities;
}

// CSV data. The first byte picks what reads the rest: the bare table (every cell also through
// the number parsers), the city loader, an edge-list layer or a membership layer. Its higher
// bits vary the options that change the code path (a weight column, skipping unknown cities, a
// population filter and a row limit).
inline void csv_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool option_a = (selector & 0x10) != 0;
  const bool option_b = (selector & 0x20) != 0;
  scenario::Scenario s;
  s.source_file = "fuzz.yaml";
  s.data_dir = scratch_dir().string();
  try {
    switch (selector % 4) {
      case 0: {
        const auto table = io::CsvTable::parse(text, "fuzz.csv");
        for (std::size_t r = 0; r < table.rows(); ++r)
          for (std::size_t c = 0; c < table.header().size(); ++c) {
            (void)io::parse_double(table.cell(r, c));
            (void)io::parse_int(table.cell(r, c));
          }
        break;
      }
      case 1: {
        write_file("cities.csv", text);
        s.cities.source = scenario::CitySource::kCsv;
        s.cities.file = "cities.csv";
        if (option_a) s.cities.min_population = 100.0;
        if (option_b) s.cities.max_cities = 3;
        (void)model::load_cities(s, 0);
        break;
      }
      case 2: {
        write_file("edges.csv", text);
        scenario::LayerSpec layer;
        layer.name = "edges";
        layer.kind = scenario::LayerKind::kEdges;
        layer.file = "edges.csv";
        if (option_a) layer.weight_column = "weight";
        layer.skip_unknown_cities = option_b;
        s.layers.push_back(layer);
        (void)net::build_network(s, five_cities(), 0);
        break;
      }
      default: {
        write_file("members.csv", text);
        scenario::LayerSpec layer;
        layer.name = "club";
        layer.kind = scenario::LayerKind::kMembership;
        layer.file = "members.csv";
        layer.skip_unknown_cities = option_b;
        s.layers.push_back(layer);
        (void)net::build_network(s, five_cities(), 0);
        break;
      }
    }
  } catch (const InputError&) {
  }
}

}  // namespace citynet::fuzz
