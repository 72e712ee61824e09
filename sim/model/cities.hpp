#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "scenario/scenario.hpp"

namespace citynet::model {

// The cities of a run, structure of arrays; index = CityId. Rows keep the order of the source
// (file order, or generation order for synthetic cities).
struct CityTable {
  std::vector<std::int64_t> id;  // external id (GeoNames id for real data; 0..n-1 synthetic)
  std::vector<std::string> name;
  std::vector<std::string> country;  // ISO-2 code or synthetic "C07"
  std::vector<double> latitude;
  std::vector<double> longitude;
  std::vector<double> population;

  CityId size() const { return static_cast<CityId>(id.size()); }
  // Memory held, the text of names longer than the strings' inline buffer included.
  std::int64_t bytes() const {
    std::size_t b =
        id.capacity() * sizeof(std::int64_t) +
        (name.capacity() + country.capacity()) * sizeof(std::string) +
        (latitude.capacity() + longitude.capacity() + population.capacity()) * sizeof(double);
    const std::string empty;
    for (const auto* column : {&name, &country})
      for (const auto& s : *column)
        if (s.capacity() > empty.capacity()) b += s.capacity() + 1;
    return static_cast<std::int64_t>(b);
  }
};

// Loads or generates the cities the scenario names. Bad data throws InputError naming the file and
// line; an empty selection names the scenario key that emptied it.
CityTable load_cities(const scenario::Scenario& s, std::uint64_t run_key);

}  // namespace citynet::model
