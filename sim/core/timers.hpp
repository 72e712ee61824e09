#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace citynet {

// Wall time spent in each named phase of the step, accumulated over a run (`citynet run
// --profile`). Phases are registered once, in pipeline order, and timed by index.
class PhaseTimers {
 public:
  int add(std::string name) {
    names_.push_back(std::move(name));
    seconds_.push_back(0.0);
    return static_cast<int>(names_.size()) - 1;
  }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<double>& seconds() const { return seconds_; }
  void charge(int phase, double s) { seconds_[phase] += s; }
  // Runs f, charging its wall time to `phase`.
  template <class F>
  void run(int phase, F&& f) {
    Scope scope(*this, phase);
    f();
  }

  class Scope {
   public:
    Scope(PhaseTimers& t, int phase)
        : timers_(t), phase_(phase), start_(std::chrono::steady_clock::now()) {}
    ~Scope() {
      timers_.charge(
          phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseTimers& timers_;
    int phase_;
    std::chrono::steady_clock::time_point start_;
  };

 private:
  std::vector<std::string> names_;
  std::vector<double> seconds_;
};

}  // namespace citynet
