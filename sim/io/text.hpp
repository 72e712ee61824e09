#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace citynet::io {

// What is wrong with the bytes of a text file, and where (1-based line and column, the column
// counted in bytes).
struct TextProblem {
  int line = 0;
  int column = 0;
  std::string message;
};

// Input files are UTF-8 text: names read from them end up in the output file, which stores
// UTF-8 strings, and a reader would fail on anything else. Returns the first byte that is not
// valid UTF-8 or is a control character other than tab, line feed and carriage return (a NUL
// usually means a binary or UTF-16 file). A leading UTF-8 byte-order mark is fine.
std::optional<TextProblem> check_utf8_text(std::string_view text);

}  // namespace citynet::io
