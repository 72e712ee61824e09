#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace citynet::scenario::detail {

// A parsed YAML document copied out of yaml-cpp into a plain tree that keeps the order of keys
// and the position of every node. Copying resolves aliases once, under a node budget, so the
// validator (and overrides, which edit the tree) never meet a shared or unbounded structure.
struct Entry;

struct Value {
  enum class Kind { kNull, kScalar, kMap, kList };
  Kind kind = Kind::kNull;
  std::string text;     // scalar
  bool quoted = false;  // scalar written in quotes (or a block scalar): never a number or null
  std::vector<Entry> entries;  // map, in the order written
  std::vector<Value> items;    // list
  Location where;

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool is_map() const { return kind == Kind::kMap; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_null() const { return kind == Kind::kNull; }
};

struct Entry {
  std::string key;
  Location key_where;
  Value value;
};

// Limits that keep hostile or broken input from exhausting the stack or the memory.
inline constexpr int kMaxDepth = 64;
inline constexpr std::size_t kMaxNodes = 1'000'000;
// A scenario is a few kilobytes. yaml-cpp needs about 250 bytes of memory and a few microseconds
// per value, so a megabyte of text is already a second and a quarter of a gigabyte at worst;
// larger files are refused before they are parsed.
inline constexpr std::size_t kMaxTextBytes = 1u << 20;

// Parses `text` (one YAML document of UTF-8 text). Text that is too large or not UTF-8, syntax
// errors, excessive nesting or size, duplicate keys and non-scalar keys are added to `diags` (key
// "yaml" for syntax errors); the returned tree holds what could be read. `empty` is set when the
// text holds no document at all.
Value parse_yaml(std::string_view text, const std::string& display_name, Diagnostics& diags,
                 bool* empty = nullptr);

// parse_yaml for text built into the binary (the schema), one well-formed document: without the
// first pass that guards a user's file against a yaml-cpp loop (see count_documents), which cost
// as much as the parse itself, 3 ms of every start.
Value parse_builtin_yaml(std::string_view text, const std::string& display_name,
                         Diagnostics& diags);

// "map", "list", "text 'abc'"... for messages saying what was found instead.
std::string describe(const Value& v);

}  // namespace citynet::scenario::detail
