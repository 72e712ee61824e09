#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace citynet::app {

// A one-line progress bar on stderr for interactive runs: it stays silent for the first second
// (short runs print nothing) and redraws at most ten times a second.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar() { finish(); }
  void update(long done, long total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// True when stderr is a terminal.
bool stderr_is_terminal();

}  // namespace citynet::app
