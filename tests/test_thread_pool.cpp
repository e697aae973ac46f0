// parallel_for: coverage of the index range, chunk alignment, exceptions,
// nesting, and many back-to-back loops (the pattern of a training step);
// parallel_for_chunks: coverage, chunk sizes, the chunk cap, exceptions;
// parallel_for_products: where it starts splitting.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/thread_pool.hpp"

using namespace tinyq;

namespace {

// Restores the thread count a test changed.
struct ThreadCountGuard {
  std::size_t saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("parallel_for visits every index exactly once") {
  ThreadCountGuard guard;
  for (std::size_t threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    CHECK(num_threads() == threads);
    for (std::size_t count : {1, 2, 7, 64, 1000}) {
      for (std::size_t grain : {1, 4, 16}) {
        CAPTURE(threads);
        CAPTURE(count);
        CAPTURE(grain);
        std::vector<std::atomic<int>> hits(count);
        parallel_for(count, grain, [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
        });
        bool all_once = true;
        for (auto& h : hits) all_once = all_once && h.load() == 1;
        CHECK(all_once);
      }
    }
  }
}

TEST_CASE("parallel_for chunks start on multiples of the grain") {
  ThreadCountGuard guard;
  set_num_threads(3);
  std::atomic<bool> aligned{true};
  std::atomic<int> chunks{0};
  parallel_for(100, 8, [&](std::size_t begin, std::size_t end) {
    if (begin % 8 != 0 || (end % 8 != 0 && end != 100)) aligned = false;
    chunks.fetch_add(1);
  });
  CHECK(aligned.load());
  CHECK(chunks.load() == 3);  // 13 grains over 3 threads: 5 + 5 + 3
}

TEST_CASE("parallel_for_chunks visits every index once, in chunks of the size asked") {
  ThreadCountGuard guard;
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (std::size_t count : {1, 5, 100, 1000}) {
      for (std::size_t chunk : {0, 1, 7, 192, 5000}) {
        CAPTURE(threads);
        CAPTURE(count);
        CAPTURE(chunk);
        std::vector<std::atomic<int>> hits(count);
        std::atomic<bool> sized{true};
        std::atomic<std::size_t> calls{0};
        parallel_for_chunks(count, chunk, [&](std::size_t begin, std::size_t end) {
          const std::size_t size = std::max<std::size_t>(chunk, 1);
          // Each call is one chunk (or the whole range, run inline).
          if (!(begin == 0 && end == count) &&
              (begin % size != 0 || (end - begin != size && end != count)))
            sized = false;
          for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
          calls.fetch_add(1);
        });
        bool all_once = true;
        for (auto& h : hits) all_once = all_once && h.load() == 1;
        CHECK(all_once);
        CHECK(sized.load());
        const std::size_t expected_calls =
            threads == 1
                ? 1
                : (count + std::max<std::size_t>(chunk, 1) - 1) / std::max<std::size_t>(chunk, 1);
        CHECK(calls.load() == expected_calls);
      }
    }
  }
}

TEST_CASE("parallel_for_chunks caps a loop at 65,535 chunks and rethrows a chunk's exception") {
  ThreadCountGuard guard;
  set_num_threads(2);
  std::atomic<std::size_t> calls{0}, covered{0};
  parallel_for_chunks(200000, 1, [&](std::size_t begin, std::size_t end) {
    calls.fetch_add(1);
    covered.fetch_add(end - begin);
  });
  CHECK(calls.load() <= 65535);
  CHECK(covered.load() == 200000);
  CHECK_THROWS_AS(parallel_for_chunks(10, 2,
                                      [](std::size_t begin, std::size_t) {
                                        if (begin == 4) throw std::runtime_error("chunk failed");
                                      }),
                  std::runtime_error);
}

TEST_CASE("parallel_for with one thread runs on the calling thread") {
  ThreadCountGuard guard;
  set_num_threads(1);
  std::set<std::thread::id> ids;
  parallel_for(100, 1, [&](std::size_t, std::size_t) { ids.insert(std::this_thread::get_id()); });
  CHECK(ids.size() == 1);
  CHECK(*ids.begin() == std::this_thread::get_id());
}

TEST_CASE("parallel_for with a chunk per thread runs chunk 0 on the calling thread") {
  // So the share a caller computes is the same from loop to loop (the rows
  // of a weight matrix in the forward product, its gradient and its SGD
  // update) and stays in that core's cache. Workers spin between loops, so
  // before the rule one of them would sometimes win the race for chunk 0.
  ThreadCountGuard guard;
  set_num_threads(2);
  const std::thread::id caller = std::this_thread::get_id();
  int chunk0_elsewhere = 0;
  for (int loop = 0; loop < 2000; ++loop) {
    parallel_for(2, 1, [&](std::size_t begin, std::size_t) {
      if (begin == 0 && std::this_thread::get_id() != caller) ++chunk0_elsewhere;
    });
  }
  CHECK(chunk0_elsewhere == 0);
}

TEST_CASE("parallel_for uses several threads when asked") {
  ThreadCountGuard guard;
  set_num_threads(2);
  // Each chunk waits (boundedly) for the other to start, so two chunks that
  // ran one after the other on the same thread would time out.
  std::atomic<int> started{0};
  std::atomic<bool> overlapped{true};
  parallel_for(2, 1, [&](std::size_t, std::size_t) {
    started.fetch_add(1);
    for (int i = 0; i < 2000000 && started.load() < 2; ++i) std::this_thread::yield();
    if (started.load() < 2) overlapped = false;
  });
  CHECK(overlapped.load());
}

TEST_CASE("parallel_for_products splits a loop only from its least work per thread") {
  ThreadCountGuard guard;
  set_num_threads(2);
  // Chunks per call: 1 when the loop ran whole on the calling thread.
  const auto chunks = [](std::size_t products, std::size_t min_per_thread) {
    std::atomic<std::size_t> calls{0};
    parallel_for_products(8, 1, products, min_per_thread,
                          [&](std::size_t, std::size_t) { calls.fetch_add(1); });
    return calls.load();
  };
  CHECK(chunks(65535, 32768) == 1);
  CHECK(chunks(65536, 32768) == 2);
  CHECK(chunks(1, 0) == 2);
  // Without a bar, the int8 kernels' min_products_per_thread.
  std::size_t calls = 0;
  parallel_for_products(8, 1, 2 * min_products_per_thread - 1,
                        [&](std::size_t, std::size_t) { ++calls; });
  CHECK(calls == 1);
}

TEST_CASE("parallel_for rethrows an exception from a chunk") {
  ThreadCountGuard guard;
  set_num_threads(2);
  auto throwing = [](std::size_t begin, std::size_t) {
    if (begin != 0) throw std::runtime_error("chunk failed");
  };
  CHECK_THROWS_AS(parallel_for(10, 1, throwing), std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> sum{0};
  parallel_for(10, 1, [&](std::size_t b, std::size_t e) { sum += static_cast<int>(e - b); });
  CHECK(sum.load() == 10);
}

TEST_CASE("set_num_threads refuses to run inside a loop") {
  ThreadCountGuard guard;
  set_num_threads(2);
  CHECK_THROWS_AS(parallel_for(2, 1, [](std::size_t, std::size_t) { set_num_threads(1); }),
                  tinyq::Error);
  CHECK(num_threads() == 2);
}

TEST_CASE("nested parallel_for runs the inner loop inline") {
  ThreadCountGuard guard;
  set_num_threads(2);
  std::atomic<int> total{0};
  parallel_for(4, 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      parallel_for(8, 1,
                   [&](std::size_t ib, std::size_t ie) { total += static_cast<int>(ie - ib); });
  });
  CHECK(total.load() == 32);
}

TEST_CASE("parallel_for accepts a std::function") {
  ThreadCountGuard guard;
  set_num_threads(2);
  std::atomic<int> total{0};
  const std::function<void(std::size_t, std::size_t)> body = [&](std::size_t b, std::size_t e) {
    total += static_cast<int>(e - b);
  };
  parallel_for(50, 1, body);
  CHECK(total.load() == 50);
}

TEST_CASE("many short loops in a row all complete") {
  ThreadCountGuard guard;
  set_num_threads(2);
  std::vector<long> values(64, 0);
  for (int round = 0; round < 20000; ++round)
    parallel_for(values.size(), 1, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) values[i] += 1;
    });
  long sum = 0;
  for (long v : values) sum += v;
  CHECK(sum == 64L * 20000);
}
