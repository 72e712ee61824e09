#pragma once

#include <optional>
#include <string>
#include <vector>

namespace citynet::scenario {

// One parameter of the schema declared in config/defaults.yaml (embedded in the binary). Keys of
// list items are written with "[]", e.g. "layers[].kind".
struct Parameter {
  std::string key;
  std::string type;          // int, double, bool, string, choice, list, string_list
  std::string default_text;  // as YAML text; empty when there is no default
  std::string units;
  std::optional<double> min, max;
  std::vector<std::string> choices;
  bool required = false;
  std::string doc;
};

const std::vector<Parameter>& parameters();

// `citynet params`: one block per parameter, aligned for a terminal.
std::string parameters_text();
// docs/parameters.md, generated (a test checks the checked-in copy is current).
std::string parameters_markdown();

}  // namespace citynet::scenario
