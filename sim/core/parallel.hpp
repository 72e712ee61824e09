#pragma once

#include <tbb/parallel_for.h>

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

}  // namespace citynet
