// A small persistent pool of std::threads for data-parallel loops.
//
// parallel_for splits [0, count) into one contiguous chunk per thread. The
// split depends only on count and the thread count, and each index is
// handled by exactly one thread, so a kernel that computes each output
// element in one thread in a fixed order gives the same bits whatever the
// thread count.
#pragma once

#include <cstddef>
#include <functional>

namespace tinyq {

// Number of threads parallel_for uses (>= 1). Default: hardware threads.
void set_num_threads(std::size_t threads);
std::size_t num_threads();

// Calls body(begin, end) on disjoint chunks covering [0, count); returns when
// all are done. Chunks are multiples of `grain` (except the last) so callers can
// keep SIMD-width or tile alignment. Runs inline when there is one thread or
// one chunk. Exceptions thrown by body are rethrown here.
void parallel_for(std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t begin, std::size_t end)>& body);

}  // namespace tinyq
