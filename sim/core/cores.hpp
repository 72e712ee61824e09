#pragma once

#include <functional>
#include <memory>
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

// A thread started on the cores the caller may use but `core`, so that it never waits its turn
// on the caller's; the destructor joins it. Where the system cannot say where threads run, or
// `core` is the caller's only core (or -1), it may run on any.
class OffCoreThread {
 public:
  OffCoreThread(int core, std::function<void()> body);
  OffCoreThread(const OffCoreThread&) = delete;
  OffCoreThread& operator=(const OffCoreThread&) = delete;
  ~OffCoreThread();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citynet
