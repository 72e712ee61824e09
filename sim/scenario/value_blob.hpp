#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "scenario/yaml_tree.hpp"

namespace citynet::embedded_data {
// config/defaults.yaml parsed when citynet is built (generated/schema_blob.cpp).
extern const unsigned char kSchemaBlob[];
extern const std::size_t kSchemaBlobSize;
}  // namespace citynet::embedded_data

namespace citynet::scenario::detail {

// A parsed YAML tree as bytes, and back, positions included. The schema is parsed with yaml-cpp
// when citynet is built and read back from these bytes at start-up: yaml-cpp took 40 M
// instructions over it, a third of a small run's start.
std::string write_value_blob(const Value& v);

// The tree write_value_blob wrote, every position in `file`. Bytes it did not write throw
// std::logic_error: they can only come from a broken build.
Value read_value_blob(std::string_view bytes, const std::string& file);

}  // namespace citynet::scenario::detail
