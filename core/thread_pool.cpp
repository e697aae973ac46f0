// Placeholder serial implementation; the persistent pool lands with the speed work.
#include "core/thread_pool.hpp"

#include <algorithm>
#include <thread>

namespace tinyq {

namespace {
std::size_t g_threads = std::max(1u, std::thread::hardware_concurrency());
}

void set_num_threads(std::size_t threads) { g_threads = std::max<std::size_t>(1, threads); }
std::size_t num_threads() { return g_threads; }

void parallel_for(std::size_t count, std::size_t /*grain*/,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  if (count > 0) body(0, count);
}

}  // namespace tinyq
