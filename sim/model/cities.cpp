#include "model/cities.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <optional>
#include <unordered_map>

#include "core/embedded.hpp"
#include "core/parallel.hpp"
#include "io/csv.hpp"
#include "rng/stream.hpp"

namespace citynet::model {

namespace {

using scenario::Scenario;

// Far beyond any real city system; the limit only keeps a typo ("count: 1e12") from exhausting
// memory before anything useful is reported.
constexpr std::int64_t kMaxCities = 100'000'000;

// Synthetic populations: lognormal with a median of e^12 (about 160,000 people) and a spread that
// gives a few cities of several million, roughly the shape of real urban size distributions.
constexpr double kPopulationMu = 12.0;
constexpr double kPopulationSigma = 1.2;

std::string zero_padded(std::int64_t v, int width) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width)
    digits.insert(0, static_cast<std::size_t>(width) - digits.size(), '0');
  return digits;
}

int digits_of(std::int64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

CityTable synthetic_cities(const Scenario& s, std::uint64_t run_key) {
  const std::int64_t n = s.cities.count;
  if (n <= 0)
    throw InputError(s.where("cities.count"), "cities.count",
                     std::to_string(n) + " cities: at least one city is needed");
  if (n > kMaxCities)
    throw InputError(
        s.where("cities.count"), "cities.count",
        std::to_string(n) + " cities is more than the supported " + std::to_string(kMaxCities));
  const std::int32_t countries = s.cities.countries;
  if (countries <= 0)
    throw InputError(s.where("cities.countries"), "cities.countries",
                     std::to_string(countries) + " countries: at least one is needed");

  CityTable t;
  const auto size = static_cast<std::size_t>(n);
  t.id.resize(size);
  t.name.resize(size);
  t.country.resize(size);
  t.latitude.resize(size);
  t.longitude.resize(size);
  t.population.resize(size);

  const int name_width = std::max(6, digits_of(n - 1));
  const int country_width = std::max(2, digits_of(countries - 1));
  std::vector<std::string> country_codes(static_cast<std::size_t>(countries));
  for (std::int32_t c = 0; c < countries; ++c)
    country_codes[static_cast<std::size_t>(c)] =
        std::string("C").append(zero_padded(c, country_width));

  citynet::parallel_for(tbb::blocked_range<std::int64_t>(0, n), [&](const auto& r) {
    for (std::int64_t i = r.begin(); i != r.end(); ++i) {
      const auto c = static_cast<std::size_t>(i);
      rng::Stream rng(run_key, 0, static_cast<std::uint32_t>(i), rng::Purpose::kSynthetic);
      t.id[c] = i;
      t.name[c] = std::string("city_").append(zero_padded(i, name_width));
      // Uniform on the sphere: the sine of the latitude is uniform, not the latitude.
      t.latitude[c] = std::asin(2.0 * rng.uniform() - 1.0) * 180.0 / std::numbers::pi;
      t.longitude[c] = 360.0 * rng.uniform() - 180.0;
      t.population[c] = rng.lognormal(kPopulationMu, kPopulationSigma);
      t.country[c] = country_codes[rng.below(static_cast<std::uint64_t>(countries))];
    }
  });
  return t;
}

struct Columns {
  std::size_t id, name, country, latitude, longitude, population;
};

Columns require_columns(const io::CsvTable& csv, const Scenario& s) {
  Diagnostics diags;
  auto need = [&](const std::string& name, const char* key) {
    return csv.require_column(name, diags, s.where(key), key);
  };
  const auto id = need(s.cities.id_column, "cities.id_column");
  const auto name = need(s.cities.name_column, "cities.name_column");
  const auto country = need(s.cities.country_column, "cities.country_column");
  const auto latitude = need(s.cities.latitude_column, "cities.latitude_column");
  const auto longitude = need(s.cities.longitude_column, "cities.longitude_column");
  const auto population = need(s.cities.population_column, "cities.population_column");
  diags.throw_if_any();
  return Columns{*id, *name, *country, *latitude, *longitude, *population};
}

std::string quoted(const std::string& v) {
  return "'" + v + "'";
}

// Shortest text that reads back as the same value: "100000", not "100000.000000".
std::string format_number(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : std::to_string(v);
}

CityTable csv_cities(const Scenario& s) {
  if (s.cities.file.empty())
    throw InputError(s.where("cities.source"), "cities.file",
                     "cities read from a CSV file need cities.file");
  auto source = read_data_file(s.data_dir, s.cities.file);
  if (!source)
    throw InputError(s.where("cities.file"), "cities.file",
                     "cannot read the data file '" + s.cities.file + "' (looked in " +
                         (s.data_dir.empty() ? std::string(".") : s.data_dir) + ")");
  if (s.cities.max_cities < 0)
    throw InputError(s.where("cities.max_cities"), "cities.max_cities",
                     std::to_string(s.cities.max_cities) + " is negative; 0 means no limit");
  const auto csv = io::CsvTable::parse(source->text, source->display_name);
  const Columns col = require_columns(csv, s);
  const std::size_t rows = csv.rows();
  if (rows > static_cast<std::size_t>(kMaxCities))
    throw InputError(Location{csv.file(), 0, 0}, "",
                     std::to_string(rows) + " rows is more than the supported " +
                         std::to_string(kMaxCities) + " cities");

  // Every row is checked, kept or not, so that a file is fixed in one pass.
  io::RowProblems problems(csv.file());
  CityTable all;
  all.id.resize(rows);
  all.latitude.resize(rows);
  all.longitude.resize(rows);
  all.population.resize(rows);
  std::unordered_map<std::int64_t, int> first_line;
  first_line.reserve(rows);

  auto number = [&](std::size_t row, std::size_t c,
                    const std::string& column_name) -> std::optional<double> {
    const std::string& cell = csv.cell(row, c);
    auto v = io::parse_double(cell);
    if (!v)
      problems.add(csv.line_of(row), "column '" + column_name + "': " +
                                         (cell.empty() ? std::string("empty, expected a number")
                                                       : quoted(cell) + " is not a number"));
    return v;
  };

  for (std::size_t r = 0; r < rows; ++r) {
    const int line = csv.line_of(r);
    bool ok = true;
    const std::string& id_cell = csv.cell(r, col.id);
    const auto id = io::parse_int(id_cell);
    if (!id) {
      problems.add(line, "column '" + s.cities.id_column + "': " +
                             (id_cell.empty() ? std::string("empty, expected an integer id")
                                              : quoted(id_cell) + " is not an integer id"));
      ok = false;
    } else {
      const auto [it, inserted] = first_line.emplace(*id, line);
      if (!inserted) {
        problems.add(line, "city id " + std::to_string(*id) + " is already used on line " +
                               std::to_string(it->second));
        ok = false;
      }
      all.id[r] = *id;
    }
    const auto lat = number(r, col.latitude, s.cities.latitude_column);
    const auto lon = number(r, col.longitude, s.cities.longitude_column);
    const auto pop = number(r, col.population, s.cities.population_column);
    if (lat && (*lat < -90.0 || *lat > 90.0)) {
      problems.add(line, "column '" + s.cities.latitude_column + "': " +
                             quoted(csv.cell(r, col.latitude)) + " is outside [-90, 90] degrees");
      ok = false;
    }
    if (lon && (*lon < -180.0 || *lon > 180.0)) {
      problems.add(line, "column '" + s.cities.longitude_column +
                             "': " + quoted(csv.cell(r, col.longitude)) +
                             " is outside [-180, 180] degrees");
      ok = false;
    }
    if (pop && *pop < 0.0) {
      problems.add(line, "column '" + s.cities.population_column +
                             "': " + quoted(csv.cell(r, col.population)) + " is negative");
      ok = false;
    }
    if (!lat || !lon || !pop || !ok) continue;
    all.latitude[r] = *lat;
    all.longitude[r] = *lon;
    all.population[r] = *pop;
  }
  problems.throw_if_any();

  if (rows == 0)
    throw InputError(s.where("cities.file"), "cities.file",
                     "no city is left: " + csv.file() + " has a header but no rows");

  const std::size_t limit =
      s.cities.max_cities > 0 ? static_cast<std::size_t>(s.cities.max_cities) : rows;
  CityTable t;
  double largest = 0.0;
  for (std::size_t r = 0; r < rows && t.id.size() < limit; ++r) {
    largest = std::max(largest, all.population[r]);
    if (!(all.population[r] >= s.cities.min_population)) continue;
    t.id.push_back(all.id[r]);
    t.name.push_back(csv.cell(r, col.name));
    t.country.push_back(csv.cell(r, col.country));
    t.latitude.push_back(all.latitude[r]);
    t.longitude.push_back(all.longitude[r]);
    t.population.push_back(all.population[r]);
  }
  if (t.id.empty()) {
    throw InputError(s.where("cities.min_population"), "cities.min_population",
                     "no city is left: none of the " + std::to_string(rows) + " cities in " +
                         csv.file() + " has a population of at least " +
                         format_number(s.cities.min_population) + " (the largest is " +
                         format_number(largest) + ")");
  }
  return t;
}

}  // namespace

CityTable load_cities(const scenario::Scenario& s, std::uint64_t run_key) {
  switch (s.cities.source) {
    case scenario::CitySource::kSynthetic:
      return synthetic_cities(s, run_key);
    case scenario::CitySource::kCsv:
      return csv_cities(s);
  }
  throw InputError(s.where("cities.source"), "cities.source", "unknown city source");
}

}  // namespace citynet::model
