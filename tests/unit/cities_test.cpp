#include <tbb/global_control.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <string>

#include "model/cities.hpp"
#include "rng/stream.hpp"
#include "unit/net_checks.hpp"

using citynet::InputError;
using citynet::Location;
using citynet::model::CityTable;
using citynet::model::load_cities;
using citynet::scenario::CitySource;
using citynet::scenario::Scenario;
using citynet::test::TempDir;

namespace {

const std::uint64_t kKey = citynet::rng::run_key(7, 0);

Scenario synthetic(std::int64_t count) {
  Scenario s;
  s.source_file = "test.yaml";
  s.cities.source = CitySource::kSynthetic;
  s.cities.count = count;
  s.cities.countries = 12;
  return s;
}

Scenario real_cities() {
  Scenario s;
  s.source_file = "test.yaml";
  s.data_dir = std::string(CITYNET_SOURCE_DIR) + "/scenarios";
  s.cities.source = CitySource::kCsv;
  s.cities.file = "data/world_cities.csv";
  s.locations["cities.file"] = Location{"test.yaml", 4, 9};
  s.locations["cities.min_population"] = Location{"test.yaml", 5, 19};
  return s;
}

Scenario csv_in(const TempDir& dir, const std::string& text) {
  Scenario s = real_cities();
  s.data_dir = dir.path();
  s.cities.file = "cities.csv";
  dir.write("cities.csv", text);
  return s;
}

InputError error_of(const Scenario& s) {
  try {
    load_cities(s, kKey);
  } catch (const InputError& e) {
    return e;
  }
  FAIL("no InputError was thrown");
  throw;
}

bool any_message(const InputError& e, const std::string& text) {
  for (const auto& d : e.diagnostics())
    if (d.format().find(text) != std::string::npos) return true;
  return false;
}

const std::string kHeader = "id,name,country_code,latitude,longitude,population\n";

}  // namespace

TEST_CASE("Synthetic cities: ids, names, countries and coordinates", "[unit]") {
  const CityTable t = load_cities(synthetic(1000), kKey);
  REQUIRE(t.size() == 1000);
  CHECK(t.id[0] == 0);
  CHECK(t.id[999] == 999);
  CHECK(t.name[0] == "city_000000");
  CHECK(t.name[123] == "city_000123");
  bool ok = true;
  double sin_sum = 0.0, abs_sin_sum = 0.0;
  for (std::size_t i = 0; i < 1000; ++i) {
    const auto& c = t.country[i];
    ok = ok && c.size() == 3 && c[0] == 'C' && std::stoi(c.substr(1)) < 12;
    ok = ok && t.latitude[i] >= -90 && t.latitude[i] <= 90;
    ok = ok && t.longitude[i] >= -180 && t.longitude[i] < 180;
    ok = ok && t.population[i] > 0;
    const double s = std::sin(t.latitude[i] * std::numbers::pi / 180);
    sin_sum += s;
    abs_sin_sum += std::abs(s);
  }
  CHECK(ok);
  // Uniform on the sphere: sin(latitude) is uniform on [-1, 1].
  CHECK(sin_sum / 1000 == Approx(0.0).margin(0.06));
  CHECK(abs_sin_sum / 1000 == Approx(0.5).margin(0.03));
}

TEST_CASE("Synthetic cities do not depend on the thread count", "[unit]") {
  CityTable one, two;
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    one = load_cities(synthetic(20000), kKey);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    two = load_cities(synthetic(20000), kKey);
  }
  CHECK(one.latitude == two.latitude);
  CHECK(one.longitude == two.longitude);
  CHECK(one.population == two.population);
  CHECK(one.country == two.country);
  const CityTable other = load_cities(synthetic(20000), citynet::rng::run_key(8, 0));
  CHECK(other.latitude != one.latitude);
}

TEST_CASE("Synthetic city count is guarded", "[unit]") {
  CHECK_THROWS_AS(load_cities(synthetic(0), kKey), InputError);
  CHECK_THROWS_AS(load_cities(synthetic(200'000'000), kKey), InputError);
}

TEST_CASE("The real world_cities.csv loads in file order", "[unit]") {
  const CityTable t = load_cities(real_cities(), kKey);
  REQUIRE(t.size() == 4723);
  CHECK(t.name[0] == "Shanghai");
  CHECK(t.id[0] == 1796236);
  CHECK(t.country[0] == "CN");
  CHECK(t.latitude[0] == Approx(31.22222));
  CHECK(t.longitude[0] == Approx(121.45806));
  CHECK(t.population[0] == 22315474.0);
  CHECK(t.name[1] == "Beijing");
}

TEST_CASE("min_population and max_cities select rows in file order", "[unit]") {
  Scenario s = real_cities();
  s.cities.min_population = 1'000'000;
  const CityTable big = load_cities(s, kKey);
  CHECK(big.size() > 100);
  CHECK(big.size() < 4723);
  bool all_big = true;
  for (double p : big.population) all_big = all_big && p >= 1'000'000;
  CHECK(all_big);

  s.cities.max_cities = 10;
  const CityTable ten = load_cities(s, kKey);
  REQUIRE(ten.size() == 10);
  CHECK(ten.name[0] == "Shanghai");
  CHECK(ten.id == std::vector<std::int64_t>(big.id.begin(), big.id.begin() + 10));
}

TEST_CASE("A filter that leaves no city names the key that emptied the selection", "[unit]") {
  Scenario s = real_cities();
  s.cities.min_population = 1e9;
  const InputError e = error_of(s);
  REQUIRE(e.diagnostics().size() == 1);
  const auto& d = e.diagnostics()[0];
  CHECK(d.key == "cities.min_population");
  CHECK(d.where.line == 5);
  CHECK(d.message.find("no city is left") != std::string::npos);
  CHECK(d.message.find("22315474") != std::string::npos);  // the largest, Shanghai
}

TEST_CASE("A missing city file is reported at cities.file", "[unit]") {
  Scenario s = real_cities();
  s.cities.file = "data/no_such_file.csv";
  const InputError e = error_of(s);
  CHECK(e.diagnostics()[0].key == "cities.file");
  CHECK(e.diagnostics()[0].where.line == 4);
}

TEST_CASE("Bad city rows are all reported with file and line", "[unit]") {
  TempDir dir("cities_bad");
  const Scenario s = csv_in(dir, kHeader +
                                     "1,A,AA,10,20,1000\n"
                                     "2,B,AA,10,20,abc\n"
                                     "3,C,AA,95,20,1000\n"
                                     "1,D,AA,10,200,1000\n"
                                     "x,E,AA,10,20,-5\n");
  const InputError e = error_of(s);
  const std::string file = dir.path() + "/cities.csv";
  CHECK(any_message(e, file + ":3: column 'population': 'abc' is not a number"));
  CHECK(any_message(e, file + ":4: column 'latitude': '95' is outside [-90, 90]"));
  CHECK(any_message(e, file + ":5: city id 1 is already used on line 2"));
  CHECK(any_message(e, file + ":5: column 'longitude': '200' is outside [-180, 180]"));
  CHECK(any_message(e, file + ":6: column 'id': 'x' is not an integer id"));
  CHECK(any_message(e, file + ":6: column 'population': '-5' is negative"));
  CHECK(e.diagnostics().size() == 6);
}

TEST_CASE("A city file without a needed column suggests the closest header", "[unit]") {
  TempDir dir("cities_columns");
  Scenario s = csv_in(dir, "id,name,country_code,lat,longitude,pop\n1,A,AA,1,2,3\n");
  s.locations["cities.latitude_column"] = Location{"test.yaml", 9, 20};
  const InputError e = error_of(s);
  REQUIRE(e.diagnostics().size() == 2);  // latitude and population, reported together
  CHECK(e.diagnostics()[0].key == "cities.latitude_column");
  CHECK(e.diagnostics()[0].where.line == 9);
  CHECK(e.diagnostics()[1].key == "cities.population_column");
  CHECK(e.diagnostics()[1].message.find("'population'") != std::string::npos);
}

TEST_CASE("A city file with a header only leaves no city", "[unit]") {
  TempDir dir("cities_empty");
  const InputError e = error_of(csv_in(dir, kHeader));
  CHECK(e.diagnostics()[0].key == "cities.file");
  CHECK(e.diagnostics()[0].message.find("no city is left") != std::string::npos);
}
