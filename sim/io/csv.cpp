#include "io/csv.hpp"

#include <charconv>
#include <cmath>
#include <utility>

#include "io/text.hpp"

namespace citynet::io {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_blank(const std::vector<std::string>& fields, bool any_quoted) {
  return !any_quoted && fields.size() == 1 && trim(fields.front()).empty();
}

// Reads CSV records one at a time, keeping the physical line count so that every row can be
// reported by the line an editor shows (a quoted field may span lines).
class Reader {
 public:
  Reader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  bool done() const { return pos_ >= text_.size(); }
  int line() const { return line_; }

  // Reads the next record into `fields`. Returns false (after skipping to the end of the line)
  // when the record is malformed, with the reason in `error`.
  bool next(std::vector<std::string>& fields, bool& any_quoted, std::string& error) {
    fields.clear();
    any_quoted = false;
    bool ok = true;
    for (;;) {
      std::string field;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        any_quoted = true;
        const int opened = line_;
        ++pos_;
        bool closed = false;
        while (pos_ < text_.size()) {
          const char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field += '"';
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
            ++pos_;
            continue;
          }
          if (c == '\n') ++line_;
          field += c;
          ++pos_;
        }
        // Everything after an unclosed quote is one field: no later line can be trusted.
        if (!closed)
          throw InputError(Location{file_, opened, 0}, "",
                           "a quoted field opened on this line is never closed");
        if (!at_field_end()) {
          error = "unexpected text after a closing quote (a quote inside a field is written \"\")";
          ok = false;
          skip_line();
          return ok;
        }
      } else {
        const std::size_t start = pos_;
        while (!at_field_end()) ++pos_;
        field.assign(text_.substr(start, pos_ - start));
      }
      fields.push_back(std::move(field));
      if (pos_ >= text_.size()) return ok;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      end_line();
      return ok;
    }
  }

 private:
  bool at_field_end() const {
    if (pos_ >= text_.size()) return true;
    const char c = text_[pos_];
    if (c == ',' || c == '\n') return true;
    return c == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n');
  }
  void end_line() {
    if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++line_;
  }
  void skip_line() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    if (pos_ < text_.size()) ++pos_;
    ++line_;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

CsvTable CsvTable::parse(std::string_view text, const std::string& display_name) {
  CsvTable t;
  t.file_ = display_name;
  // Checked first and alone: in a file of another encoding every later message would be noise.
  if (const auto bad = check_utf8_text(text))
    throw InputError(Location{display_name, bad->line, bad->column}, "", bad->message);
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  Reader reader(text, t.file_);
  RowProblems problems(display_name);
  std::vector<std::string> fields;
  bool any_quoted = false;
  bool have_header = false;
  std::string error;
  while (!reader.done()) {
    const int line = reader.line();
    if (!reader.next(fields, any_quoted, error)) {
      problems.add(line, error);
      continue;
    }
    if (is_blank(fields, any_quoted)) continue;
    if (!have_header) {
      // Spaces around names ("id, name") are formatting, not part of the name.
      for (auto& f : fields) f = std::string(trim(f));
      t.header_ = std::move(fields);
      fields = {};
      have_header = true;
      continue;
    }
    if (fields.size() != t.header_.size()) {
      problems.add(line, "row has " + std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(t.header_.size()));
      continue;
    }
    t.cells_.push_back(std::move(fields));
    fields = {};
    t.lines_.push_back(line);
  }
  if (!have_header && problems.empty())
    throw InputError(Location{display_name, 0, 0}, "", "empty file, expected a header row");
  problems.throw_if_any();
  return t;
}

std::optional<std::size_t> CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return i;
  return std::nullopt;
}

std::optional<std::size_t> CsvTable::require_column(const std::string& name, Diagnostics& diags,
                                                    const Location& key_where,
                                                    const std::string& key) const {
  if (auto c = column(name)) return c;
  std::string message = file_ + " has no column '" + name + "'";
  const std::string suggestion = closest_match(name, header_);
  if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
  message += "; its columns are: ";
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (i > 0) message += ", ";
    message += header_[i];
  }
  diags.add(key_where, key, std::move(message));
  return std::nullopt;
}

void RowProblems::add(int line, std::string message) {
  if (kept_.size() < kMaxRowProblems)
    kept_.push_back(Diagnostic{Location{file_, line, 0}, "", std::move(message)});
  else
    ++dropped_;
}

void RowProblems::throw_if_any() const {
  if (empty()) return;
  std::vector<Diagnostic> all = kept_;
  if (dropped_ > 0)
    all.push_back(Diagnostic{Location{file_, 0, 0}, "",
                             "and " + std::to_string(dropped_) + " more row problems"});
  all.insert(all.end(), notes_.begin(), notes_.end());
  throw InputError(std::move(all));
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  // from_chars rejects a leading '+', which spreadsheets write for positive numbers.
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  long long v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace citynet::io
