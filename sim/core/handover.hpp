#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace citynet {

// Collects what the workers of a parallel loop produce. A worker hands its items over under a
// mutex at the end of its chunk and the caller takes them all after the loop under the same
// mutex. The loop's join already orders the two, but inside the TBB library, which
// ThreadSanitizer cannot see into; the mutex makes that order visible to it, for one lock per
// chunk. Items arrive in no fixed order: callers sort them.
template <class T>
class Handover {
 public:
  // Moves `items` in and leaves the vector empty with its capacity, ready for the next chunk.
  void give(std::vector<T>& items) {
    if (items.empty()) return;
    std::lock_guard lock(mutex_);
    all_.insert(all_.end(), items.begin(), items.end());
    items.clear();
  }
  std::vector<T> take() {
    std::lock_guard lock(mutex_);
    return std::move(all_);
  }

 private:
  std::mutex mutex_;
  std::vector<T> all_;
};

}  // namespace citynet
