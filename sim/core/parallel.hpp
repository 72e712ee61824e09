#pragma once

#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace citynet {

// tbb::parallel_for with its fork and join made visible to ThreadSanitizer. TBB orders what the
// caller wrote before a loop before the loop's bodies, and the bodies before what the caller
// reads after it, but inside Debian's libtbb, which is not built for ThreadSanitizer: without
// these annotations it reports every serial read of an array the loop filled as a race. Outside
// ThreadSanitizer builds they compile to nothing. Call it qualified (citynet::parallel_for): the
// TBB range types would otherwise bring TBB's own overloads in by argument-dependent lookup.
namespace detail {
inline void sanitizer_release([[maybe_unused]] const void* token) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(token));
#endif
}
inline void sanitizer_acquire([[maybe_unused]] const void* token) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(token));
#endif
}
}  // namespace detail

template <class Range, class Body>
void parallel_for(const Range& range, const Body& body) {
  const char token = 0;
  detail::sanitizer_release(&token);
  tbb::parallel_for(range, [&](const Range& r) {
    detail::sanitizer_acquire(&token);
    body(r);
    detail::sanitizer_release(&token);
  });
  detail::sanitizer_acquire(&token);
}

template <class Index, class Function>
void parallel_for(Index first, Index last, const Function& f) {
  const char token = 0;
  detail::sanitizer_release(&token);
  tbb::parallel_for(first, last, [&](Index i) {
    detail::sanitizer_acquire(&token);
    f(i);
    detail::sanitizer_release(&token);
  });
  detail::sanitizer_acquire(&token);
}

// One task that runs on TBB's threads while the caller goes on, until wait(); made visible to
// ThreadSanitizer as parallel_for is. With one thread the task runs in wait(). An exception the
// task threw is rethrown by wait(); the destructor waits for a task still running and drops its
// exception, as the caller is then unwinding from one of its own.
class BackgroundTask {
 public:
  BackgroundTask() = default;
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  ~BackgroundTask() {
    if (!running_) return;
    group_.cancel();
    try {
      group_.wait();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the caller's own exception is in flight
    }
  }

  template <class Function>
  void run(Function f) {
    detail::sanitizer_release(&token_);
    running_ = true;
    group_.run([this, f = std::move(f)] {
      detail::sanitizer_acquire(&token_);
      f();
      detail::sanitizer_release(&token_);
    });
  }

  void wait() {
    if (!running_) return;
    running_ = false;
    group_.wait();
    detail::sanitizer_acquire(&token_);
  }

 private:
  tbb::task_group group_;
  bool running_ = false;
  char token_ = 0;
};

}  // namespace citynet
