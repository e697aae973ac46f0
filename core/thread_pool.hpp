// A small persistent pool of std::threads for data-parallel loops.
//
// parallel_for splits [0, count) into at most one chunk per thread. The
// split depends only on count, grain and the thread count, and each index is
// handled by exactly one thread, so a kernel that computes each output
// element in one thread in a fixed order gives the same bits whatever the
// thread count.
//
// The calling thread works too: it takes chunks from the same counter as the
// workers, so a worker that is slow to wake never holds the caller up; it
// simply finds no chunk left. In a loop of one chunk per thread, chunk 0 is
// always the caller's and chunk t worker t's while that worker is awake, so
// successive loops over the same data give each core the same share of it.
// Workers spin briefly after each loop (a training step calls parallel_for
// many times in quick succession, and a spinning worker starts within a
// microsecond) and then sleep on a futex.
#pragma once

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

#include "core/function_ref.hpp"

namespace tinyq {

// Number of threads parallel_for uses (>= 1). Default: hardware threads.
// Changing it restarts the pool; call it between loops, not inside one.
void set_num_threads(std::size_t threads);
std::size_t num_threads();

// The body of a parallel loop, `void(std::size_t begin, std::size_t end)`,
// held by reference (core/function_ref.hpp): nothing is allocated per loop.
using ChunkFunction = FunctionRef<void(std::size_t begin, std::size_t end)>;

// Calls body(begin, end) on disjoint chunks covering [0, count); returns when
// all are done. Chunks are multiples of `grain` (except the last) so callers can
// keep SIMD-width or tile alignment. Runs inline when there is one thread or
// one chunk, and when called from inside another parallel_for. Exceptions
// thrown by body are rethrown here (the first one, if several chunks throw).
void parallel_for(std::size_t count, std::size_t grain, ChunkFunction body);

// The least work worth handing to another thread, in multiply-adds of an
// integer product. Handing a chunk to a worker and waiting for it costs
// about a microsecond on a 2-core Zen 5, about what one core's VNNI kernel
// takes for this many; below it a loop is better run on the calling thread
// (a batch-1 layer of the 784-256-128-10 MLP is, a 1024 x 1024 one is not).
inline constexpr std::size_t min_products_per_thread = 262144;

// parallel_for(count, grain, body) for a loop whose whole work is `products`
// multiply-adds, when that gives every thread at least
// min_products_per_thread; otherwise body(0, count) on the calling thread.
void parallel_for_products(std::size_t count, std::size_t grain, std::size_t products,
                           ChunkFunction body);
// The same for a kernel slower per product than the int8 ones, with its
// own least work per thread, in multiply-adds.
void parallel_for_products(std::size_t count, std::size_t grain, std::size_t products,
                           std::size_t min_per_thread, ChunkFunction body);

// The same with chunks of `chunk` indices (the last may be short), as many as
// that makes, claimed one at a time from the shared counter: a thread that
// is slowed (a busy host, a descheduled core) takes fewer, and the others
// take the rest, where one chunk per thread would leave them waiting. For
// loops whose indices are independent (the rows of an inference batch);
// which thread runs an index varies from run to run. At most 65,535 chunks:
// longer loops get larger ones.
void parallel_for_chunks(std::size_t count, std::size_t chunk, ChunkFunction body);

// Kept for callers that already hold a std::function.
void parallel_for(std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t begin, std::size_t end)>& body);

// Lambdas and other callables bind here, without building a std::function.
template <typename F>
requires std::is_invocable_v<F&, std::size_t, std::size_t> &&
    (!std::is_same_v<std::remove_cvref_t<F>, std::function<void(std::size_t, std::size_t)>>)&&(
        !std::is_same_v<std::remove_cvref_t<F>, ChunkFunction>)void parallel_for(std::size_t count,
                                                                                 std::size_t grain,
                                                                                 F&& body) {
  parallel_for(count, grain, ChunkFunction(body));
}

}  // namespace tinyq
