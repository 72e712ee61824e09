#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace citynet {

// Where a problem is: file, 1-based line and column (0 when unknown) and the key path inside a
// scenario (empty for data files).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  Location where;
  std::string key;
  std::string message;

  // "FILE:LINE:COL: key: message", dropping the parts that are unknown.
  std::string format() const;
};

// Bad input: the user has something to fix. The command line maps it to exit code 2.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Diagnostic> diagnostics);
  InputError(Location where, std::string key, std::string message);

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  // Every diagnostic on its own line, then "N problems; nothing was run." style summary.
  std::string report(const std::string& consequence = "nothing was run") const;

 private:
  std::vector<Diagnostic> diagnostics_;
};

// Collects problems so that a whole file is checked before anything is reported.
class Diagnostics {
 public:
  void add(Location where, std::string key, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Throws InputError holding every collected problem, if there is any.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> items_;
};

// A failure while running (I/O, resources): exit code 1.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` when it is plausibly a typo of it, or "" when none is.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace citynet
