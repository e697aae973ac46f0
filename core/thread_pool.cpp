// The persistent pool behind parallel_for.
//
// One loop at a time is "published" as a 64-bit ticket:
//
//   bits 63..32  generation  (which loop; bumped for every parallel_for)
//   bits 31..16  chunks      (how many chunks this loop has)
//   bits 15..0   next        (the next chunk nobody has claimed yet)
//
// A thread claims a chunk with one compare-exchange that also checks the
// generation, so a worker that wakes late, after its loop has finished and
// the caller has moved on, can never run a chunk of a loop it did not see
// published. The loop's other fields (body, count, chunk size) are written
// before the ticket is published and not touched again until every claimed
// chunk has been reported done, so a thread that won a claim may read them.
#include "core/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace tinyq {

namespace {

// How long an idle worker spins before sleeping. Long enough to span the
// serial code between two matrix products of a training step (a few to a few
// hundred microseconds), short enough not to burn a core when the program
// really is idle. Waking a sleeping thread costs tens of microseconds here.
constexpr auto spin_time = std::chrono::microseconds(500);
constexpr std::size_t max_threads = 256;

// How long a worker waits for the threads before it to claim their chunks
// (see Pool::run_chunks), in pauses: a pause takes about 40 ns on recent
// Intel cores, a few on AMD's.
constexpr unsigned max_wait_spins = 256;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A wait for another thread of this program, which is usually only
// microseconds away (the other share of a product, the caller's serial code
// between two products). It pauses, and only once it has waited
// yield_after does it also offer the core to other programs, every 64
// pauses, as a busy machine needs. A yield is a system call, about 1.2 µs
// on the Zen 5 machine, as long as 64 pauses there: yielding every 64 from
// the start kept a waiting thread in the kernel half the time, so it saw
// the other thread's "done" up to a yield late, at each of a training
// step's dozen handovers. Training the default MLP, batch 64, 2 threads,
// the two rules alternated in one process (60 rounds of 100 steps): 0.97
// of the time with yield_after 200 µs (0.98 with 50, 0.96 with 500).
class SpinWait {
 public:
  // The clock is read every 64 pauses, from the 64th on.
  void pause() {
    cpu_relax();
    if (++spins_ % 64 != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (spins_ == 64) first_check_ = now;
    waited_ = now - first_check_;
    if (waited_ > yield_after) std::this_thread::yield();
  }
  unsigned spins() const { return spins_; }
  // As of the last reading of the clock.
  bool waited_longer_than(std::chrono::nanoseconds time) const { return waited_ > time; }

 private:
  static constexpr auto yield_after = std::chrono::microseconds(200);
  std::chrono::steady_clock::time_point first_check_;
  std::chrono::nanoseconds waited_{0};
  unsigned spins_ = 0;
};

std::uint64_t make_ticket(std::uint64_t generation, std::uint64_t chunks, std::uint64_t next) {
  return generation << 32 | chunks << 16 | next;
}
std::uint32_t ticket_generation(std::uint64_t t) {
  return static_cast<std::uint32_t>(t >> 32);
}
std::uint64_t ticket_chunks(std::uint64_t t) {
  return (t >> 16) & 0xffff;
}
std::uint64_t ticket_next(std::uint64_t t) {
  return t & 0xffff;
}

thread_local bool t_inside_loop = false;

class Pool {
 public:
  explicit Pool(std::size_t threads) {
    for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }

  ~Pool() {
    stop_.store(true);
    wake_.fetch_add(1);
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  void run(std::size_t count, std::size_t chunk_size, std::size_t chunks, ChunkFunction body) {
    body_ = &body;
    count_ = count;
    chunk_size_ = chunk_size;
    completed_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    ++generation_;
    ticket_.store(make_ticket(generation_, chunks, 0), std::memory_order_seq_cst);
    wake_.store(generation_, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_.notify_all();

    run_chunks(generation_, 0);
    // A worker that claimed a chunk is running it; wait for it, politely if long.
    SpinWait wait;
    while (completed_.load(std::memory_order_acquire) != chunks) wait.pause();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claims and runs chunks of loop `generation` until none is left. Thread
  // `index` (0 the caller, 1.. the workers) claims nothing below chunk
  // `index` of a loop with a chunk per thread: it waits until the threads
  // before it have claimed theirs, always for the caller, which claims
  // chunk 0 as soon as it has published the loop, and for at most
  // max_wait_spins pauses for a worker, which may be asleep. So chunk 0 is
  // always the caller's and chunk t worker t's whenever that worker is
  // awake, and the same share of a matrix (the same rows of a weight matrix
  // in its forward product, its gradient and its SGD update) stays in one
  // core's cache from loop to loop. A thread that finds its chunk already
  // taken, because it woke late, takes the next one, and the caller takes
  // any chunk still unclaimed when it has finished its own. Which thread
  // runs a chunk never changes what the chunk computes. Before, a spinning
  // worker often won the race for chunk 0 and the caller took chunk 1.
  // Training the default MLP at batch 64, 2 threads, Intel Xeon: with the
  // split of weight gradients by rows (core/kernels/gemm_blocked.cpp) 0.91
  // of the time per step (282 µs against 311, a driver looping over 16
  // batches, the two builds alternated) and 1.01-1.05x the samples/s of
  // bench_mnist (same bits).
  void run_chunks(std::uint32_t generation, std::size_t index) {
    std::uint64_t ticket = ticket_.load(std::memory_order_acquire);
    SpinWait wait;
    while (ticket_generation(ticket) == generation && ticket_next(ticket) < ticket_chunks(ticket)) {
      const std::uint64_t next = ticket_next(ticket);
      const bool chunk_per_thread = ticket_chunks(ticket) <= workers_.size() + 1;
      const bool keep_waiting =
          next == 0 || wait.spins() < max_wait_spins;  // chunk 0: the caller's
      if (chunk_per_thread && next < index && keep_waiting) {
        wait.pause();
        ticket = ticket_.load(std::memory_order_acquire);
        continue;
      }
      if (!ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel))
        continue;  // someone else claimed it (ticket now holds the fresh value)
      const std::size_t begin = ticket_next(ticket) * chunk_size_;
      const std::size_t end = std::min(count_, begin + chunk_size_);
      try {
        t_inside_loop = true;
        (*body_)(begin, end);
      } catch (...) {
        std::lock_guard lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      t_inside_loop = false;
      completed_.fetch_add(1, std::memory_order_acq_rel);
      ticket = ticket_.load(std::memory_order_acquire);
    }
  }

  void worker_loop(std::size_t index) {
    std::uint32_t seen = 0;
    while (true) {
      std::uint32_t now = wake_.load(std::memory_order_acquire);
      if (now == seen && !stop_.load()) {
        SpinWait wait;
        while (now == seen && !stop_.load(std::memory_order_relaxed)) {
          wait.pause();
          if (wait.waited_longer_than(spin_time)) {
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            if (wake_.load(std::memory_order_seq_cst) == seen && !stop_.load()) wake_.wait(seen);
            sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          }
          now = wake_.load(std::memory_order_acquire);
        }
      }
      if (stop_.load()) return;
      seen = now;
      run_chunks(now, index);
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<std::uint32_t> wake_{0};  // the generation, as a futex the workers sleep on
  std::atomic<std::size_t> completed_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::uint32_t generation_ = 0;  // written by the calling thread only

  const ChunkFunction* body_ = nullptr;
  std::size_t count_ = 0;
  std::size_t chunk_size_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

std::size_t default_threads() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, max_threads);
}

// The pool and its size. `run_mutex` admits one loop at a time; a second
// thread that calls parallel_for meanwhile runs its loop inline.
struct PoolState {
  std::mutex run_mutex;
  std::atomic<std::size_t> threads{default_threads()};
  std::unique_ptr<Pool> pool;
};

PoolState& state() {
  static PoolState s;
  return s;
}

}  // namespace

void set_num_threads(std::size_t threads) {
  // The loop in progress holds run_mutex and waits for this very chunk.
  if (t_inside_loop) throw Error("set_num_threads: called from inside a parallel_for body");
  PoolState& s = state();
  std::lock_guard lock(s.run_mutex);
  threads = std::clamp<std::size_t>(threads, 1, max_threads);
  if (threads != s.threads) s.pool.reset();
  s.threads = threads;
}

std::size_t num_threads() {
  return state().threads.load(std::memory_order_relaxed);
}

namespace {

// Runs body over [0, count) in chunks claimed one at a time from the pool's
// counter, chunk_for(threads) indices each (the thread count read under the
// loop lock); inline when another loop holds the pool, when called from
// inside a loop, or when one chunk or one thread would do.
template <class ChunkSize>
void run_in_chunks(std::size_t count, ChunkSize chunk_for, ChunkFunction body) {
  PoolState& s = state();
  std::unique_lock lock(s.run_mutex, std::try_to_lock);
  const std::size_t threads = s.threads.load(std::memory_order_relaxed);
  const std::size_t chunk = chunk_for(threads);
  const std::size_t chunks = (count + chunk - 1) / chunk;
  if (!lock.owns_lock() || t_inside_loop || chunks == 1 || threads == 1) {
    body(0, count);
    return;
  }
  if (!s.pool) s.pool = std::make_unique<Pool>(threads);
  s.pool->run(count, chunk, chunks, body);
}

}  // namespace

void parallel_for(std::size_t count, std::size_t grain, ChunkFunction body) {
  if (count == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t grains = (count + grain - 1) / grain;
  // One chunk per thread, each a whole number of grains; the last may be short.
  run_in_chunks(
      count, [&](std::size_t threads) { return (grains + threads - 1) / threads * grain; }, body);
}

void parallel_for_products(std::size_t count, std::size_t grain, std::size_t products,
                           ChunkFunction body) {
  parallel_for_products(count, grain, products, min_products_per_thread, body);
}

void parallel_for_products(std::size_t count, std::size_t grain, std::size_t products,
                           std::size_t min_per_thread, ChunkFunction body) {
  if (products < min_per_thread * num_threads())
    body(0, count);
  else
    parallel_for(count, grain, body);
}

void parallel_for_chunks(std::size_t count, std::size_t chunk, ChunkFunction body) {
  if (count == 0) return;
  constexpr std::size_t max_chunks = 0xFFFF;  // the ticket's 16-bit chunk count
  chunk = std::max({chunk, std::size_t{1}, (count + max_chunks - 1) / max_chunks});
  run_in_chunks(
      count, [chunk](std::size_t) { return chunk; }, body);
}

void parallel_for(std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  parallel_for(count, grain, ChunkFunction(body));
}

}  // namespace tinyq
