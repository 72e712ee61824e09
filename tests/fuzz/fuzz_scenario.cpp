// libFuzzer target: scenario YAML through the loader and validator (see fuzz_entry.hpp).
#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  citynet::fuzz::scenario_input(data, size);
  return 0;
}
