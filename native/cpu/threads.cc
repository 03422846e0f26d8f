// threads.cc — a small persistent thread pool (see threads.h).
//
// Latency matters for the many short kernels of a training step (a 128×128 GEMM takes tens of µs),
// and the machines are shared, so the pool is built so that a caller never waits on a worker that
// is asleep or descheduled:
//  - Idle workers, and a caller waiting for its workers, first spin on an atomic for a short while
//    (kSpin) and only then sleep on a condition variable; back-to-back jobs never sleep.
//  - A job is open until the caller has drained all its chunks itself. A worker joins a job by
//    counting itself in `active_` and then checking that the job is still open (the caller closes it
//    and then waits for `active_` to reach zero; sequentially consistent atomics make one of the two
//    see the other, as in Dekker's algorithm). A worker that wakes too late never touches the job,
//    so the caller waits only for workers that are actually running chunks.
#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace entrena::cpu {
namespace {

thread_local bool t_in_pool_job = false;

// How long a thread spins before it sleeps: long enough to bridge the gap between the kernels of
// one training step, short enough that an idle process stops burning CPU almost at once.
constexpr std::chrono::microseconds kSpin{200};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until pred() holds or kSpin has passed; returns pred().
template <typename Pred>
bool spin_until(Pred pred) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (pred()) return true;
    cpu_relax();
    if ((i & 255) == 0 && std::chrono::steady_clock::now() - start > kSpin) return pred();
  }
}

class Pool {
 public:
  explicit Pool(int threads) { resize(threads); }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> busy(busy_);
    stop_workers();
    stopping_.store(false);
    const uint64_t now = generation_.load();
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, now] { worker_loop(now); });
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& body) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || t_in_pool_job || workers_.empty()) {
      for (int64_t c = 0; c < chunks; ++c) body(c);
      return;
    }
    // No worker is inside a job here (the previous caller waited for active_ == 0, and a late
    // worker that counts itself in sees open_ == false and leaves without reading these fields).
    body_ = &body;
    chunks_ = chunks;
    next_.store(0);
    open_.store(true);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    t_in_pool_job = true;
    drain();
    t_in_pool_job = false;
    open_.store(false);
    // Workers that joined may still be running their last chunk of `body` (the caller's object).
    if (!spin_until([this] { return active_.load() == 0; })) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return active_.load() == 0; });
    }
  }

 private:
  void drain() {
    for (;;) {
      int64_t c = next_.fetch_add(1);
      if (c >= chunks_) break;
      (*body_)(c);
    }
  }
  void worker_loop(uint64_t seen) {
    for (;;) {
      auto ready = [&] { return stopping_.load() || generation_.load() != seen; };
      if (!spin_until(ready)) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, ready);
      }
      if (stopping_.load()) return;
      seen = generation_.load();
      active_.fetch_add(1);
      if (open_.load()) {
        t_in_pool_job = true;
        drain();
        t_in_pool_job = false;
      }
      if (active_.fetch_sub(1) == 1) {
        // Notify under the mutex so that a caller between its check and its wait cannot miss it.
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_one();
      }
    }
  }
  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_.store(true);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;                 // one job at a time
  std::mutex mu_;                   // guards the sleeps on cv_ and done_cv_
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* body_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> open_{false};   // the current job still accepts workers
  std::atomic<int> active_{0};      // workers inside the current job
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
};

int default_threads() {
  if (const char* env = std::getenv("ENTRENA_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  return physical_cores();
}

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can hang when
  // the runtime has already torn other threads down.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

int physical_cores() {
  // Count distinct (package, core) pairs from sysfs; fall back to the logical count.
  std::set<std::pair<int, int>> cores;
  unsigned logical = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned cpu = 0; cpu < logical; ++cpu) {
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core_f(base + "core_id"), pkg_f(base + "physical_package_id");
    int core = -1, pkg = -1;
    if (!(core_f >> core) || !(pkg_f >> pkg)) return static_cast<int>(logical);
    cores.insert({pkg, core});
  }
  return cores.empty() ? static_cast<int>(logical) : static_cast<int>(cores.size());
}

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(std::max(1, std::min(n, 256))); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = num_threads();
  int64_t max_chunks = (n + grain - 1) / grain;
  if (threads <= 1 || max_chunks <= 1) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven work without much scheduling overhead.
  int64_t chunks = std::min<int64_t>(max_chunks, static_cast<int64_t>(threads) * 4);
  int64_t per = (n + chunks - 1) / chunks;
  chunks = (n + per - 1) / per;
  pool().run(chunks, [&](int64_t c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
}

}  // namespace entrena::cpu
