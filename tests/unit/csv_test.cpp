#include <catch2/catch.hpp>

#include <string>

#include "io/csv.hpp"

using citynet::Diagnostics;
using citynet::InputError;
using citynet::Location;
using citynet::io::CsvTable;
using citynet::io::parse_double;
using citynet::io::parse_int;
using citynet::io::RowProblems;

namespace {

// The diagnostics an InputError carries, formatted; empty when nothing was thrown.
std::vector<std::string> errors_of(const std::string& text) {
  try {
    CsvTable::parse(text, "t.csv");
  } catch (const InputError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.format());
    return out;
  }
  return {};
}

}  // namespace

TEST_CASE("CSV: header and rows with the line each row starts on", "[unit]") {
  const auto t = CsvTable::parse("id,name\n1,Lyon\n2,Paris\n", "t.csv");
  REQUIRE(t.header() == std::vector<std::string>{"id", "name"});
  REQUIRE(t.rows() == 2);
  CHECK(t.cell(1, 1) == "Paris");
  CHECK(t.line_of(0) == 2);
  CHECK(t.line_of(1) == 3);
  CHECK(t.where(1).file == "t.csv");
  CHECK(t.where(1).line == 3);
}

TEST_CASE("CSV: byte-order mark, CRLF, blank lines and a missing final newline", "[unit]") {
  const auto t = CsvTable::parse("\xEF\xBB\xBFid,name\r\n\r\n1,Lyon\r\n   \n2,Paris", "t.csv");
  REQUIRE(t.header() == std::vector<std::string>{"id", "name"});
  REQUIRE(t.rows() == 2);
  CHECK(t.cell(0, 1) == "Lyon");
  CHECK(t.cell(1, 1) == "Paris");
  CHECK(t.line_of(0) == 3);
  CHECK(t.line_of(1) == 5);
}

TEST_CASE("CSV: quoted fields hold commas, doubled quotes and line breaks", "[unit]") {
  const std::string text =
      "name,note\n"
      "\"Washington, D.C.\",\"the \"\"capital\"\"\"\n"
      "\"Multi\nline\",x\n"
      "\"\",last\n";
  const auto t = CsvTable::parse(text, "t.csv");
  REQUIRE(t.rows() == 3);
  CHECK(t.cell(0, 0) == "Washington, D.C.");
  CHECK(t.cell(0, 1) == "the \"capital\"");
  CHECK(t.cell(1, 0) == "Multi\nline");
  CHECK(t.line_of(1) == 3);
  CHECK(t.line_of(2) == 5);  // after the two-line field
  CHECK(t.cell(2, 0).empty());
}

TEST_CASE("CSV: a trailing comma is an empty last field", "[unit]") {
  const auto t = CsvTable::parse("a,b,c\n1,2,\n", "t.csv");
  REQUIRE(t.rows() == 1);
  CHECK(t.cell(0, 2).empty());
}

TEST_CASE("CSV: rows with the wrong number of fields are all reported by line", "[unit]") {
  const auto errors = errors_of("a,b,c\n1,2,3\n1,2\n\n1,2,3,4\n");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "t.csv:3: row has 2 fields, the header has 3");
  CHECK(errors[1] == "t.csv:5: row has 4 fields, the header has 3");
}

TEST_CASE("CSV: an empty file is an error, a header alone is an empty table", "[unit]") {
  CHECK(errors_of("") == std::vector<std::string>{"t.csv: empty file, expected a header row"});
  CHECK(errors_of("\xEF\xBB\xBF\r\n\n") ==
        std::vector<std::string>{"t.csv: empty file, expected a header row"});
  const auto t = CsvTable::parse("id,name\n", "t.csv");
  CHECK(t.rows() == 0);
  CHECK(t.header().size() == 2);
}

TEST_CASE("CSV: an unclosed quote names the line it opens on", "[unit]") {
  const auto errors = errors_of("a,b\n1,2\n3,\"open\n4,5\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("t.csv:3: ", 0) == 0);
  CHECK(errors[0].find("never closed") != std::string::npos);
}

TEST_CASE("CSV: text after a closing quote is an error on its line", "[unit]") {
  const auto errors = errors_of("a,b\n\"x\"y,2\n3,4\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("t.csv:2: ", 0) == 0);
}

TEST_CASE("CSV: a systematic error is capped at 20 problems and counted", "[unit]") {
  std::string text = "a,b\n";
  for (int i = 0; i < 25; ++i) text += "1\n";
  const auto errors = errors_of(text);
  REQUIRE(errors.size() == RowProblems::kMaxRowProblems + 1);
  CHECK(errors.back() == "t.csv: and 5 more row problems");
}

TEST_CASE("CSV: a missing column is reported at the scenario key with a suggestion", "[unit]") {
  const auto t = CsvTable::parse("id,name,population\n", "cities.csv");
  CHECK(t.column("name") == std::size_t{1});
  CHECK_FALSE(t.column("Name").has_value());
  Diagnostics diags;
  const Location key_at{"s.yaml", 7, 3};
  CHECK(t.require_column("population", diags, key_at, "cities.population_column") ==
        std::size_t{2});
  CHECK_FALSE(t.require_column("populaton", diags, key_at, "cities.population_column"));
  REQUIRE(diags.size() == 1);
  const auto& d = diags.items().front();
  CHECK(d.where.line == 7);
  CHECK(d.key == "cities.population_column");
  CHECK(d.message.find("cities.csv") != std::string::npos);
  CHECK(d.message.find("'populaton'") != std::string::npos);
  CHECK(d.message.find("did you mean 'population'?") != std::string::npos);
  CHECK_THROWS_AS(diags.throw_if_any(), InputError);
}

TEST_CASE("parse_double accepts whole finite numbers only", "[unit]") {
  CHECK(parse_double("1.5") == 1.5);
  CHECK(parse_double(" 2 ") == 2.0);
  CHECK(parse_double("+3e2") == 300.0);
  CHECK(parse_double("-0.25") == -0.25);
  CHECK_FALSE(parse_double(""));
  CHECK_FALSE(parse_double("abc"));
  CHECK_FALSE(parse_double("1.5x"));
  CHECK_FALSE(parse_double("1,5"));
  CHECK_FALSE(parse_double("inf"));
  CHECK_FALSE(parse_double("nan"));
  CHECK_FALSE(parse_double("1e400"));
  CHECK_FALSE(parse_double("+-1"));
}

TEST_CASE("parse_int accepts whole integers only", "[unit]") {
  CHECK(parse_int("1796236") == 1796236LL);
  CHECK(parse_int("-7") == -7LL);
  CHECK(parse_int(" 42\t") == 42LL);
  CHECK_FALSE(parse_int("12.0"));
  CHECK_FALSE(parse_int(""));
  CHECK_FALSE(parse_int("12a"));
  CHECK_FALSE(parse_int("99999999999999999999999"));
}
