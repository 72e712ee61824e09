#include "io/text.hpp"

#include <cstdint>
#include <cstdio>

namespace citynet::io {

namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not a valid one (overlong
// forms, surrogates and code points beyond U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(b));
  return buf;
}

}  // namespace

std::optional<TextProblem> check_utf8_text(std::string_view text) {
  const bool utf16 = text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF");
  if (utf16) return TextProblem{1, 1, "the file is UTF-16 text; save it as UTF-8"};
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<std::uint8_t>(text[i]);
    const int column = static_cast<int>(i - line_start) + 1;
    if (b == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (b < 0x20 && b != '\t' && b != '\r') {
      return TextProblem{
          line, column,
          b == 0 ? "a NUL byte: this is not a text file (UTF-16? save it as UTF-8)"
                 : "control character " + hex_byte(b) + " is not allowed in a text file"};
    }
    if (b == 0x7F)
      return TextProblem{line, column, "control character 0x7F is not allowed in a text file"};
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0)
      return TextProblem{line, column,
                         "byte " + hex_byte(b) +
                             " is not UTF-8 text (a Latin-1 or Windows-1252 file? save it as "
                             "UTF-8)"};
    i += n;
  }
  return std::nullopt;
}

}  // namespace citynet::io
