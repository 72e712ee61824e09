// libFuzzer target: CSV data through the table parser and the city, edge-list and membership
// loaders; the first byte of an input picks which (see fuzz_entry.hpp).
#include "fuzz_entry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  citynet::fuzz::csv_input(data, size);
  return 0;
}
