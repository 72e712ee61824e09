#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace citynet::io {

// A small CSV table read whole: header row plus data rows. Accepts a UTF-8 byte-order mark,
// Windows line endings, a missing final newline, blank lines (skipped) and double-quoted fields
// (with "" for a quote). A row with the wrong number of fields is an error naming its line, and so
// is text that is not UTF-8 (io/text.hpp): names end up in the output file as UTF-8 strings.
class CsvTable {
 public:
  // Throws InputError (file and line) on malformed text or an empty file.
  static CsvTable parse(std::string_view text, const std::string& display_name);

  const std::string& file() const { return file_; }
  const std::vector<std::string>& header() const { return header_; }
  std::size_t rows() const { return cells_.size(); }
  const std::string& cell(std::size_t row, std::size_t col) const { return cells_[row][col]; }
  int line_of(std::size_t row) const { return lines_[row]; }  // 1-based line in the file

  // Index of a column, or std::nullopt.
  std::optional<std::size_t> column(const std::string& name) const;
  // Index of a required column; a missing one is added to `diags` with a "did you mean" against
  // the header, attributed to the scenario key `key` at `key_where`.
  std::optional<std::size_t> require_column(const std::string& name, Diagnostics& diags,
                                            const Location& key_where,
                                            const std::string& key) const;

  Location where(std::size_t row) const { return Location{file_, line_of(row), 0}; }

 private:
  std::string file_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
  std::vector<int> lines_;
};

// Problems found in the rows of one data file. Every row is checked before anything is reported,
// but a file with a systematic error (a wrong column, a shifted export) would otherwise bury the
// user in thousands of identical lines: the first kMaxRowProblems are kept and the rest counted.
class RowProblems {
 public:
  static constexpr std::size_t kMaxRowProblems = 20;

  explicit RowProblems(std::string file) : file_(std::move(file)) {}
  void add(int line, std::string message);
  // A problem that belongs to the scenario rather than to a row (e.g. a hint naming a key).
  void add_note(Diagnostic d) { notes_.push_back(std::move(d)); }
  bool empty() const { return kept_.empty() && dropped_ == 0 && notes_.empty(); }
  std::size_t count() const { return kept_.size() + dropped_; }
  // Throws InputError with the kept problems, an "and N more" line and the notes, if any.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> kept_;
  std::size_t dropped_ = 0;
  std::vector<Diagnostic> notes_;
};

// Strict number parsing: the whole field must be a finite number.
std::optional<double> parse_double(std::string_view s);
std::optional<long long> parse_int(std::string_view s);

}  // namespace citynet::io
