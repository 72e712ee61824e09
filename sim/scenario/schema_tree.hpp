#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "scenario/yaml_tree.hpp"

namespace citynet::scenario::detail {

// config/defaults.yaml as a tree that nests like a scenario: groups hold parameters and groups,
// lists hold the fields of one item.
struct SchemaNode {
  enum class Kind { kGroup, kList, kLeaf };
  Kind kind = Kind::kGroup;
  std::string name;  // key inside its parent ("" for the root)
  std::string key;   // full path with "[]" for list items, e.g. "layers[].kind"

  // Leaves (type int, double, bool, string, choice, string_list) and lists.
  std::string type;
  std::string doc;
  std::string units;
  std::optional<Value> default_value;  // absent for required leaves and for lists
  std::optional<double> min, max;
  bool min_exclusive = false;
  std::vector<std::string> choices;
  bool required = false;
  std::size_t min_items = 0;  // lists

  std::vector<SchemaNode> children;  // group members, or the fields of a list item

  const SchemaNode* child(const std::string& n) const {
    for (const auto& c : children)
      if (c.name == n) return &c;
    return nullptr;
  }
  std::vector<std::string> child_names() const {
    std::vector<std::string> names;
    for (const auto& c : children) names.push_back(c.name);
    return names;
  }
};

// The root group, built once from config/defaults.yaml as parsed when citynet was built
// (value_blob.hpp). A malformed schema is a defect of the build and throws std::logic_error.
const SchemaNode& schema_root();

// Numbers as a person writes them: integers without exponent or fraction, otherwise the shortest
// text that reads back as the same double.
std::string format_number(double x);

// The allowed range of a leaf as text (">= 0", "0 .. 1", "> 0"), or "" when unbounded.
std::string range_text(const SchemaNode& leaf);

// The text of a default as it would be written in a scenario.
std::string default_text(const SchemaNode& node);

}  // namespace citynet::scenario::detail
