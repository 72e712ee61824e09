#include "core/cores.hpp"

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif

#include <algorithm>

namespace citynet {

#if defined(__linux__)
struct CoreExclusions::Moved {
  pid_t tid;
  cpu_set_t cores;
};
#else
struct CoreExclusions::Moved {};
#endif

CoreExclusions::CoreExclusions() = default;

CoreExclusions::~CoreExclusions() {
  restore();
}

#if defined(__linux__)

int current_core() {
  return sched_getcpu();
}

void CoreExclusions::move_self_off(int core) {
  if (core < 0 || core >= CPU_SETSIZE) return;
  const pid_t tid = gettid();
  std::lock_guard lock(mutex_);
  if (std::any_of(moved_.begin(), moved_.end(), [&](const Moved& m) { return m.tid == tid; }))
    return;
  Moved m{tid, {}};
  if (sched_getaffinity(0, sizeof m.cores, &m.cores) != 0 || !CPU_ISSET(core, &m.cores) ||
      CPU_COUNT(&m.cores) < 2)
    return;
  cpu_set_t away = m.cores;
  CPU_CLR(core, &away);
  if (sched_setaffinity(0, sizeof away, &away) == 0) moved_.push_back(m);
}

void CoreExclusions::restore() {
  std::lock_guard lock(mutex_);
  for (const Moved& m : moved_) sched_setaffinity(m.tid, sizeof m.cores, &m.cores);
  moved_.clear();
}

#else

int current_core() {
  return -1;
}

void CoreExclusions::move_self_off(int) {}

void CoreExclusions::restore() {}

#endif

}  // namespace citynet
