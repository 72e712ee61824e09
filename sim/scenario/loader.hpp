#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scenario/scenario.hpp"

namespace citynet::scenario {

// Loading never runs anything: it parses, overlays the scenario on the schema's defaults, applies
// the `--set KEY=VALUE` overrides and validates, collecting every problem before throwing one
// InputError (file, line, column, key path, message; unknown keys with "did you mean").

// A scenario file on disk. Data paths inside it are relative to its directory unless `data_dir`
// says otherwise.
Scenario load_scenario_file(const std::string& path,
                            const std::vector<std::string>& overrides = {});

// Scenario text; `display_name` is what errors call it and `base_dir` is where its data lives.
Scenario load_scenario_text(std::string_view text, const std::string& display_name,
                            const std::string& base_dir,
                            const std::vector<std::string>& overrides = {});

// The built-in default scenario (scenarios/world.yaml, embedded with its data).
Scenario load_default_scenario(const std::vector<std::string>& overrides = {});

}  // namespace citynet::scenario
