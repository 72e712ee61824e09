#include "core/cores.hpp"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <system_error>
#include <thread>
#include <utility>

namespace citynet {

#if defined(__linux__)
namespace {
// The calling thread's cores, and the same without `core` into `away`; false (and `away` as it
// was) unless `core` is one of them and not the only one.
bool cores_but(int core, cpu_set_t& mine, cpu_set_t& away) {
  if (core < 0 || core >= CPU_SETSIZE || sched_getaffinity(0, sizeof mine, &mine) != 0 ||
      !CPU_ISSET(core, &mine) || CPU_COUNT(&mine) < 2)
    return false;
  away = mine;
  CPU_CLR(core, &away);
  return true;
}
}  // namespace

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
  const pid_t tid = gettid();
  std::lock_guard lock(mutex_);
  if (std::any_of(moved_.begin(), moved_.end(), [&](const Moved& m) { return m.tid == tid; }))
    return;
  Moved m{tid, {}};
  cpu_set_t away;
  if (cores_but(core, m.cores, away) && sched_setaffinity(0, sizeof away, &away) == 0)
    moved_.push_back(m);
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

#if defined(__linux__)

struct OffCoreThread::Impl {
  std::function<void()> body;
  pthread_t thread{};
  static void* start(void* self) {
    static_cast<Impl*>(self)->body();
    return nullptr;
  }
};

OffCoreThread::OffCoreThread(int core, std::function<void()> body)
    : impl_(std::make_unique<Impl>()) {
  impl_->body = std::move(body);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  cpu_set_t mine, away;
  if (cores_but(core, mine, away)) pthread_attr_setaffinity_np(&attr, sizeof away, &away);
  int failed = pthread_create(&impl_->thread, &attr, &Impl::start, impl_.get());
  pthread_attr_destroy(&attr);
  if (failed != 0) failed = pthread_create(&impl_->thread, nullptr, &Impl::start, impl_.get());
  if (failed != 0)
    throw std::system_error(failed, std::generic_category(), "cannot start a thread");
}

OffCoreThread::~OffCoreThread() {
  pthread_join(impl_->thread, nullptr);
}

#else

struct OffCoreThread::Impl {
  std::thread thread;
};

OffCoreThread::OffCoreThread(int, std::function<void()> body) : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread(std::move(body));
}

OffCoreThread::~OffCoreThread() {
  impl_->thread.join();
}

#endif

}  // namespace citynet
