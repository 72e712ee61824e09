#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "scenario/value_blob.hpp"
#include "support/process.hpp"

using namespace citynet;
using namespace citynet::scenario::detail;

namespace {

// Every field of two trees, positions included; the path says where they first differ.
void require_same(const Value& a, const Value& b, const std::string& path) {
  INFO(path);
  REQUIRE(static_cast<int>(a.kind) == static_cast<int>(b.kind));
  REQUIRE(a.text == b.text);
  REQUIRE(a.quoted == b.quoted);
  REQUIRE(a.where.file == b.where.file);
  REQUIRE(a.where.line == b.where.line);
  REQUIRE(a.where.column == b.where.column);
  REQUIRE(a.entries.size() == b.entries.size());
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const std::string at = path + "." + a.entries[i].key;
    INFO(at);
    REQUIRE(a.entries[i].key == b.entries[i].key);
    REQUIRE(a.entries[i].key_where.line == b.entries[i].key_where.line);
    REQUIRE(a.entries[i].key_where.column == b.entries[i].key_where.column);
    REQUIRE(a.entries[i].key_where.file == b.entries[i].key_where.file);
    require_same(a.entries[i].value, b.entries[i].value, at);
  }
  REQUIRE(a.items.size() == b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i)
    require_same(a.items[i], b.items[i], path + "[" + std::to_string(i) + "]");
}

Value parse(const std::string& text, const std::string& name) {
  Diagnostics diags;
  Value v = parse_builtin_yaml(text, name, diags);
  REQUIRE(diags.empty());
  return v;
}

}  // namespace

TEST_CASE("The schema built into citynet is config/defaults.yaml as yaml-cpp parses it", "[unit]") {
  std::ifstream in(testing::source_path("config/defaults.yaml"), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  REQUIRE(in);
  const Value parsed = parse(text.str(), "config/defaults.yaml");
  const Value built = read_value_blob(
      {reinterpret_cast<const char*>(embedded_data::kSchemaBlob), embedded_data::kSchemaBlobSize},
      "config/defaults.yaml");
  REQUIRE(parsed.is_map());
  CHECK(parsed.entries.size() > 10);
  require_same(built, parsed, "");
}

TEST_CASE("Trees of every kind read back from their bytes", "[unit]") {
  const Value v = parse(R"(name: "quoted: text"
empty:
list: [1, two, {three: 3}]
nested:
  deep: {a: [x, [y, z]]}
  folded: >-
    a long
    line
long: )" + std::string(300, 'x') +
                            "\n",
                        "t.yaml");
  const std::string bytes = write_value_blob(v);
  require_same(read_value_blob(bytes, "t.yaml"), v, "");
}

TEST_CASE("Damaged bytes are refused, not read", "[unit]") {
  const Value v = parse("a: [1, 2]\nb: text\n", "t.yaml");
  const std::string bytes = write_value_blob(v);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO(cut);
    CHECK_THROWS_AS(read_value_blob(bytes.substr(0, cut), "t.yaml"), std::logic_error);
  }
  CHECK_THROWS_AS(read_value_blob(bytes + "x", "t.yaml"), std::logic_error);
  std::string bad_kind = bytes;
  bad_kind[0] = 9;
  CHECK_THROWS_AS(read_value_blob(bad_kind, "t.yaml"), std::logic_error);
}
