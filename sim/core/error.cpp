#include "core/error.hpp"

#include <algorithm>

namespace citynet {

std::string Diagnostic::format() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line > 0) {
      out += ':' + std::to_string(where.line);
      if (where.column > 0) out += ':' + std::to_string(where.column);
    }
    out += ": ";
  }
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

static std::string summarise(const std::vector<Diagnostic>& ds) {
  if (ds.size() == 1) return ds.front().format();
  return ds.front().format() + " (and " + std::to_string(ds.size() - 1) + " more)";
}

InputError::InputError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(summarise(diagnostics)), diagnostics_(std::move(diagnostics)) {}

InputError::InputError(Location where, std::string key, std::string message)
    : InputError(std::vector<Diagnostic>{{std::move(where), std::move(key), std::move(message)}}) {}

std::string InputError::report(const std::string& consequence) const {
  std::string out;
  for (const auto& d : diagnostics_) out += d.format() + '\n';
  const auto n = diagnostics_.size();
  out += std::to_string(n) + (n == 1 ? " problem; " : " problems; ") + consequence + ".\n";
  return out;
}

void Diagnostics::add(Location where, std::string key, std::string message) {
  items_.push_back({std::move(where), std::move(key), std::move(message)});
}

void Diagnostics::throw_if_any() const {
  if (!items_.empty()) throw InputError(items_);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // A typo changes a few characters; beyond a third of the word it is another word.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string{};
}

}  // namespace citynet
