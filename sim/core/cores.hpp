#pragma once

#include <mutex>
#include <vector>

namespace citynet {

// The core the calling thread runs on, or -1 where the system does not say.
int current_core();

// Threads moved off one core, each put back on the cores it had by restore() or the destructor.
// Where the system cannot move threads, nothing is moved.
class CoreExclusions {
 public:
  CoreExclusions();
  CoreExclusions(const CoreExclusions&) = delete;
  CoreExclusions& operator=(const CoreExclusions&) = delete;
  ~CoreExclusions();

  // Keeps the calling thread off `core` from now on, unless it is moved already, `core` is -1,
  // or that core is the only one it may run on.
  void move_self_off(int core);
  // Puts every thread moved back on the cores it had; a thread that has ended is passed over.
  void restore();

 private:
  struct Moved;
  std::mutex mutex_;
  std::vector<Moved> moved_;
};

}  // namespace citynet
