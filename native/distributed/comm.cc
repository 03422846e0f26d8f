// comm.cc — the communication thread, the watchdog and the run-time tables of MPI and NCCL (see
// comm.h for the why).
//
// The tables: our own minimal declarations of the few functions used, resolved with dlsym from
// the library named by ENTRENA_MPI_LIB / ENTRENA_NCCL_LIB (the JavaScript side passes them) or the
// default sonames. OpenMPI's ABI: its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are the
// addresses of global objects (`ompi_mpi_comm_world`, …), so the table stores the dlsym'd
// addresses as `void*` handles and declares the functions with pointer handles. MPICH-family
// libraries (libmpi.so.12) use integer handles and would need a second set of declarations and a
// handle table of integers; `MpiAbi` is where that goes. Until then such a library is refused at
// load with a message naming what was found.
#include "comm.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "../core/backend.h"

namespace entrena {
namespace dist {
namespace {

// ---- MPI (OpenMPI ABI) ------------------------------------------------------------------------

using MpiHandle = void*;  // OpenMPI: pointers to predefined objects
constexpr int kMpiThreadMultiple = 3;  // MPI_THREAD_MULTIPLE (same value in OpenMPI and MPICH)
constexpr int kMpiSuccess = 0;
constexpr int kMpiMaxString = 8192;  // ≥ MPI_MAX_LIBRARY_VERSION_STRING and MPI_MAX_ERROR_STRING

enum class MpiAbi { none, openmpi };

struct MpiTable {
  void* lib = nullptr;
  MpiAbi abi = MpiAbi::none;
  int (*Init_thread)(int*, char***, int, int*) = nullptr;
  int (*Finalize)() = nullptr;
  int (*Finalized)(int*) = nullptr;
  int (*Comm_rank)(MpiHandle, int*) = nullptr;
  int (*Comm_size)(MpiHandle, int*) = nullptr;
  int (*Allreduce)(const void*, void*, int, MpiHandle, MpiHandle, MpiHandle) = nullptr;
  int (*Bcast)(void*, int, MpiHandle, int, MpiHandle) = nullptr;
  int (*Allgather)(const void*, int, MpiHandle, void*, int, MpiHandle, MpiHandle) = nullptr;
  int (*Barrier)(MpiHandle) = nullptr;
  int (*Abort)(MpiHandle, int) = nullptr;
  int (*Comm_set_errhandler)(MpiHandle, MpiHandle) = nullptr;
  int (*Error_string)(int, char*, int*) = nullptr;
  int (*Get_library_version)(char*, int*) = nullptr;
  MpiHandle comm_world = nullptr;
  MpiHandle errors_return = nullptr;
  MpiHandle byte = nullptr;
  MpiHandle dtype[3] = {nullptr, nullptr, nullptr};  // by DType: f32, f64, i32
  MpiHandle op[3] = {nullptr, nullptr, nullptr};     // sum, max, min
  void* in_place = nullptr;                          // MPI_IN_PLACE: (void*)1 in OpenMPI
};

MpiTable g_mpi;

template <typename F>
bool sym(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

Status load_mpi(const std::string& path) {
  const char* name = path.empty() ? "libmpi.so.40" : path.c_str();
  // RTLD_GLOBAL: OpenMPI dlopens its own plugins (mca_*.so), which resolve symbols of libmpi.
  void* lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
  if (!lib)
    return set_error(Status::invalid_argument,
                     "cannot load the MPI library '%s' (%s); install OpenMPI (Debian/Ubuntu: apt-get install openmpi-bin) or set ENTRENA_MPI_LIB to its libmpi.so",
                     name, dlerror());
  MpiTable t;
  t.lib = lib;
  if (!dlsym(lib, "ompi_mpi_comm_world")) {
    const bool mpich = dlsym(lib, "MPIR_Err_create_code") != nullptr || dlsym(lib, "MPICH_Abort") != nullptr;
    dlclose(lib);
    return set_error(Status::invalid_argument,
                     "'%s' is not an OpenMPI library (%s); entrena's MPI engine speaks OpenMPI's ABI (libmpi.so.40): set ENTRENA_MPI_LIB to OpenMPI's libmpi.so",
                     name, mpich ? "it looks like MPICH, whose integer handles are not supported yet" : "ompi_mpi_comm_world is missing");
  }
  t.abi = MpiAbi::openmpi;
  bool ok = sym(lib, "MPI_Init_thread", &t.Init_thread) && sym(lib, "MPI_Finalize", &t.Finalize) && sym(lib, "MPI_Finalized", &t.Finalized) &&
            sym(lib, "MPI_Comm_rank", &t.Comm_rank) && sym(lib, "MPI_Comm_size", &t.Comm_size) && sym(lib, "MPI_Allreduce", &t.Allreduce) &&
            sym(lib, "MPI_Bcast", &t.Bcast) && sym(lib, "MPI_Allgather", &t.Allgather) && sym(lib, "MPI_Barrier", &t.Barrier) &&
            sym(lib, "MPI_Abort", &t.Abort) && sym(lib, "MPI_Comm_set_errhandler", &t.Comm_set_errhandler) &&
            sym(lib, "MPI_Error_string", &t.Error_string) && sym(lib, "MPI_Get_library_version", &t.Get_library_version);
  t.comm_world = dlsym(lib, "ompi_mpi_comm_world");
  t.errors_return = dlsym(lib, "ompi_mpi_errors_return");
  t.byte = dlsym(lib, "ompi_mpi_byte");
  t.dtype[0] = dlsym(lib, "ompi_mpi_float");
  t.dtype[1] = dlsym(lib, "ompi_mpi_double");
  t.dtype[2] = dlsym(lib, "ompi_mpi_int");
  t.op[0] = dlsym(lib, "ompi_mpi_op_sum");
  t.op[1] = dlsym(lib, "ompi_mpi_op_max");
  t.op[2] = dlsym(lib, "ompi_mpi_op_min");
  t.in_place = reinterpret_cast<void*>(1);
  ok = ok && t.comm_world && t.errors_return && t.byte && t.dtype[0] && t.dtype[1] && t.dtype[2] && t.op[0] && t.op[1] && t.op[2];
  if (!ok) {
    dlclose(lib);
    return set_error(Status::invalid_argument, "'%s' lacks a function or handle entrena needs (%s)", name, dlerror() ? dlerror() : "a predefined handle");
  }
  g_mpi = t;
  return Status::ok;
}

std::string mpi_error(int code) {
  char buf[kMpiMaxString];
  int len = 0;
  if (g_mpi.Error_string && g_mpi.Error_string(code, buf, &len) == kMpiSuccess) return std::string(buf, static_cast<size_t>(std::max(0, len)));
  return "MPI error " + std::to_string(code);
}

// ---- NCCL -------------------------------------------------------------------------------------

struct NcclUniqueId { char internal[128]; };
using NcclComm = void*;
constexpr int kNcclSuccess = 0;
constexpr int kNcclInProgress = 7;

struct NcclTable {
  void* lib = nullptr;
  int (*GetUniqueId)(NcclUniqueId*) = nullptr;
  int (*CommInitRank)(NcclComm*, int, NcclUniqueId, int) = nullptr;
  int (*AllReduce)(const void*, void*, size_t, int, int, NcclComm, void*) = nullptr;
  int (*Broadcast)(const void*, void*, size_t, int, int, NcclComm, void*) = nullptr;
  int (*AllGather)(const void*, void*, size_t, int, NcclComm, void*) = nullptr;
  int (*CommGetAsyncError)(NcclComm, int*) = nullptr;
  int (*CommAbort)(NcclComm) = nullptr;
  int (*CommDestroy)(NcclComm) = nullptr;
  const char* (*GetErrorString)(int) = nullptr;
};

NcclTable g_nccl;
std::atomic<NcclComm> g_nccl_comm{nullptr};

// ncclDataType_t: ncclInt32 = 2, ncclFloat16 = 6, ncclFloat32 = 7, ncclFloat64 = 8; ncclRedOp_t: sum 0,
// max 2, min 3, avg 4. bfloat16 travels as ncclFloat16: only broadcast and all-gather take 16-bit
// tensors (submit refuses a 16-bit all-reduce: lib/ts/distributed reduces them through float32),
// and those copy bits.
int nccl_dtype(DType d) {
  return d == DType::f32 ? 7 : d == DType::f64 ? 8 : d == DType::bf16 || d == DType::f16 ? 6 : 2;
}
int nccl_op(ReduceOp op) { return op == ReduceOp::sum ? 0 : op == ReduceOp::max ? 2 : op == ReduceOp::min ? 3 : 4; }

Status load_nccl(const std::string& path) {
  if (g_nccl.lib) return Status::ok;
  const char* name = path.empty() ? "libnccl.so.2" : path.c_str();
  void* lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
  if (!lib)
    return set_error(Status::invalid_argument,
                     "cannot load the NCCL library '%s' (%s); install NCCL (libnccl2) or set ENTRENA_NCCL_LIB to its libnccl.so", name, dlerror());
  NcclTable t;
  t.lib = lib;
  bool ok = sym(lib, "ncclGetUniqueId", &t.GetUniqueId) && sym(lib, "ncclCommInitRank", &t.CommInitRank) && sym(lib, "ncclAllReduce", &t.AllReduce) &&
            sym(lib, "ncclBroadcast", &t.Broadcast) && sym(lib, "ncclAllGather", &t.AllGather) &&
            sym(lib, "ncclCommGetAsyncError", &t.CommGetAsyncError) && sym(lib, "ncclCommAbort", &t.CommAbort) &&
            sym(lib, "ncclCommDestroy", &t.CommDestroy) && sym(lib, "ncclGetErrorString", &t.GetErrorString);
  if (!ok) {
    dlclose(lib);
    return set_error(Status::invalid_argument, "'%s' lacks a function entrena needs (%s)", name, dlerror() ? dlerror() : "?");
  }
  g_nccl = t;
  return Status::ok;
}

Status nccl_status(int r, const char* what) {
  if (r == kNcclSuccess) return Status::ok;
  return set_error(Status::internal, "NCCL %s failed: %s", what, g_nccl.GetErrorString ? g_nccl.GetErrorString(r) : "?");
}

// ---- the queue ----------------------------------------------------------------------------------

struct Item {
  uint64_t id = 0;
  uint64_t seq = 0;     // per-kind sequence number (messages)
  uint64_t serial = 0;  // sequence number over all collectives (the agreement check)
  Request req;
  bool finalize = false;
};

struct Result {
  bool done = false;
  Status status = Status::ok;
  std::string message;
};

struct State {
  std::mutex mu;
  std::condition_variable queued;  // the communication thread waits on it
  std::condition_variable done;    // wait() waits on it
  std::deque<Item> queue;
  std::unordered_map<uint64_t, Result> results;
  uint64_t next_id = 1;
  uint64_t seq[4] = {0, 0, 0, 0};
  uint64_t serial = 0;
  bool started = false;
  bool finished = false;
  std::thread comm, watchdog;
  InitOptions options;
  int rank = 0, size = 1;
  void (*notify)(void*, uint64_t) = nullptr;
  void* notify_ctx = nullptr;
  // Watchdog view of the request being executed (guarded by mu).
  bool busy = false;
  std::chrono::steady_clock::time_point busy_since;
  std::string busy_what;
  std::condition_variable wd_cv;
  bool wd_stop = false;
  // Lock-free views for the short spins before sleeping (see spin_until): requests complete in id
  // order, so "id is done" is last_done >= id; submitted counts the queue's pushes.
  std::atomic<uint64_t> last_done{0};
  std::atomic<uint64_t> submitted{0};
  uint64_t taken = 0;  // (communication thread only)
  int thread_level = -1;  // MPI's provided level; run() executes on the caller from SERIALIZED up
  // run() is executing a collective on its caller's thread: the communication thread takes no
  // request meanwhile (guarded by mu).
  bool inline_active = false;
};

// A thread woken from a condition variable on a busy machine can wait a whole scheduler time slice
// (measured: 4–20 ms per collective with 2 ranks on 2 loaded cores, against 0.2 ms for a plain C
// loop that never sleeps). So both sides of a hand-off first poll for a short while (200 µs,
// yielding), which covers a small collective and the next bucket of a backward pass, and only then
// sleep.
constexpr auto kSpin = std::chrono::microseconds(200);
template <typename Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  do {
    if (ready()) return true;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < until);
  return ready();
}

State& st() {
  static State* s = new State();  // never destroyed: the threads may outlive static destructors
  return *s;
}

const char* kind_name(Collective k) {
  switch (k) {
    case Collective::all_reduce: return "allReduce";
    case Collective::broadcast: return "broadcast";
    case Collective::all_gather: return "allGather";
    case Collective::barrier: return "barrier";
  }
  return "collective";
}
const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::avg: return "avg";
    case ReduceOp::max: return "max";
    case ReduceOp::min: return "min";
  }
  return "?";
}

template <typename T>
void divide(void* p, int64_t n, int by) {
  T* x = static_cast<T*>(p);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(x[i] / static_cast<T>(by));
}

// MPI counts are ints: larger buffers go in chunks of at most 2^30 elements.
constexpr int64_t kChunk = int64_t{1} << 30;

Status run_mpi(const Request& r) {
  const MpiTable& m = g_mpi;
  // 16-bit tensors are only broadcast and gathered (see nccl_dtype): as MPI_BYTE pairs.
  const bool half = r.dtype == DType::bf16 || r.dtype == DType::f16;
  const size_t es = half ? 1 : dtype_size(r.dtype);
  MpiHandle dt = half ? m.byte : m.dtype[static_cast<int>(r.dtype)];
  const Request* req = &r;
  Request bytes;
  if (half) { bytes = r; bytes.count = r.count * 2; req = &bytes; }
  const Request& q = *req;
  int rc = kMpiSuccess;
  switch (r.kind) {
    case Collective::barrier: rc = m.Barrier(m.comm_world); break;
    case Collective::all_reduce: {
      MpiHandle op = m.op[r.op == ReduceOp::max ? 1 : r.op == ReduceOp::min ? 2 : 0];
      for (int64_t start = 0; start < r.count && rc == kMpiSuccess; start += kChunk) {
        const int n = static_cast<int>(std::min(kChunk, r.count - start));
        rc = m.Allreduce(m.in_place, static_cast<char*>(r.data) + start * es, n, dt, op, m.comm_world);
      }
      break;
    }
    case Collective::broadcast:
      for (int64_t start = 0; start < q.count && rc == kMpiSuccess; start += kChunk) {
        const int n = static_cast<int>(std::min(kChunk, q.count - start));
        rc = m.Bcast(static_cast<char*>(r.data) + start * es, n, dt, r.root, m.comm_world);
      }
      break;
    case Collective::all_gather:
      if (q.count > INT_MAX) return set_error(Status::invalid_argument, "allGather: %lld elements per rank exceed MPI's int count", static_cast<long long>(q.count));
      rc = m.Allgather(r.data, static_cast<int>(q.count), dt, r.out, static_cast<int>(q.count), dt, m.comm_world);
      break;
  }
  if (rc != kMpiSuccess) return set_error(Status::internal, "MPI %s failed: %s", kind_name(r.kind), mpi_error(rc).c_str());
  return Status::ok;
}

// Every rank must issue the same collective, with the same size, at the same point. A mismatch
// would make MPI read or write past a buffer (counts that differ) or hang (kinds that differ), so
// before each collective the ranks exchange a block of fixed size: a header (sequence number, kind,
// dtype, count, op, root) and, when the collective's data fits in the rest of the block, the data
// itself. The headers are compared (the first rank that differs from rank 0 is named); a small
// collective is then finished from the gathered blocks alone (the exchange was its communication,
// and a barrier is the exchange), a large one runs as an MPI collective. The block has the same size
// whatever the collective, so that ranks that disagree still exchange equal-sized messages.
constexpr int kHeaderFields = 6;
constexpr size_t kHeaderBytes = kHeaderFields * sizeof(int64_t);
constexpr size_t kInlineBytes = 1024;  // data carried in the block (MPI's shared-memory eager size is 4 KB)
constexpr size_t kBlockBytes = kHeaderBytes + kInlineBytes;

template <typename T>
void reduce_blocks(const std::vector<char>& all, int size, int64_t n, ReduceOp op, void* out) {
  T* o = static_cast<T*>(out);
  auto block = [&](int q) { return reinterpret_cast<const T*>(all.data() + static_cast<size_t>(q) * kBlockBytes + kHeaderBytes); };
  std::memcpy(o, block(0), static_cast<size_t>(n) * sizeof(T));
  for (int q = 1; q < size; ++q) {
    const T* b = block(q);
    for (int64_t i = 0; i < n; ++i) {
      if (op == ReduceOp::max) o[i] = b[i] > o[i] ? b[i] : o[i];
      else if (op == ReduceOp::min) o[i] = b[i] < o[i] ? b[i] : o[i];
      else if constexpr (std::is_integral_v<T>) o[i] = static_cast<T>(static_cast<uint32_t>(o[i]) + static_cast<uint32_t>(b[i]));  // wraps, as MPI's int sum
      else o[i] = o[i] + b[i];
    }
  }
}

// The exchange; sets *finished when the collective was completed from the blocks.
Status agree_and_exchange(uint64_t serial, const Request& r, bool* finished) {
  State& s = st();
  *finished = false;
  std::vector<char> mine(kBlockBytes, 0);
  int64_t header[kHeaderFields] = {static_cast<int64_t>(serial), static_cast<int64_t>(r.kind), static_cast<int64_t>(r.dtype), r.count,
                                   r.kind == Collective::all_reduce ? static_cast<int64_t>(r.op) : 0, r.kind == Collective::broadcast ? r.root : 0};
  std::memcpy(mine.data(), header, kHeaderBytes);
  const size_t bytes = static_cast<size_t>(r.count) * dtype_size(r.dtype);
  const bool inline_data = r.device == Device::cpu && bytes <= kInlineBytes;
  if (inline_data && bytes) std::memcpy(mine.data() + kHeaderBytes, r.data, bytes);
  std::vector<char> all(kBlockBytes * static_cast<size_t>(s.size));
  int rc = g_mpi.Allgather(mine.data(), static_cast<int>(kBlockBytes), g_mpi.byte, all.data(), static_cast<int>(kBlockBytes), g_mpi.byte, g_mpi.comm_world);
  if (rc != kMpiSuccess) return set_error(Status::internal, "MPI agreement check before %s failed: %s", kind_name(r.kind), mpi_error(rc).c_str());
  auto describe = [&](int rank) {
    int64_t h[kHeaderFields];
    std::memcpy(h, all.data() + static_cast<size_t>(rank) * kBlockBytes, kHeaderBytes);
    char buf[200];
    const Collective k = static_cast<Collective>(h[1]);
    std::snprintf(buf, sizeof buf, "rank %d is at collective #%lld, %s of %lld %s elements%s%s%s", rank, static_cast<long long>(h[0]), kind_name(k),
                  static_cast<long long>(h[3]), dtype_valid(h[2]) ? dtype_name(static_cast<DType>(h[2])) : "?",
                  k == Collective::all_reduce ? " (" : "", k == Collective::all_reduce ? op_name(static_cast<ReduceOp>(h[4])) : "",
                  k == Collective::all_reduce ? ")" : (k == Collective::broadcast ? (" from root " + std::to_string(h[5])).c_str() : ""));
    return std::string(buf);
  };
  for (int q = 1; q < s.size; ++q) {
    if (std::memcmp(all.data(), all.data() + static_cast<size_t>(q) * kBlockBytes, kHeaderBytes) != 0)
      return set_error(Status::internal, "the ranks called different collectives: %s, but %s (every rank must call the same collectives in the same order, with the same sizes)",
                       describe(0).c_str(), describe(q).c_str());
  }
  if (r.kind == Collective::barrier) {
    *finished = true;
    return Status::ok;
  }
  if (!inline_data) return Status::ok;
  // Every rank computes the same result from the same blocks, in rank order.
  switch (r.kind) {
    case Collective::all_reduce:
      if (r.dtype == DType::f32) reduce_blocks<float>(all, s.size, r.count, r.op, r.data);
      else if (r.dtype == DType::f64) reduce_blocks<double>(all, s.size, r.count, r.op, r.data);
      else reduce_blocks<int32_t>(all, s.size, r.count, r.op, r.data);
      break;
    case Collective::broadcast:
      if (bytes) std::memcpy(r.data, all.data() + static_cast<size_t>(r.root) * kBlockBytes + kHeaderBytes, bytes);
      break;
    case Collective::all_gather:
      for (int q = 0; q < s.size; ++q)
        if (bytes) std::memcpy(static_cast<char*>(r.out) + static_cast<size_t>(q) * bytes, all.data() + static_cast<size_t>(q) * kBlockBytes + kHeaderBytes, bytes);
      break;
    case Collective::barrier: break;
  }
  *finished = true;
  return Status::ok;
}

Status ensure_nccl() {
  State& s = st();
  if (g_nccl_comm.load()) return Status::ok;
  ENTRENA_TRY(load_nccl(s.options.nccl_lib));
  NcclUniqueId uid;
  std::memset(&uid, 0, sizeof uid);
  if (s.rank == 0) ENTRENA_TRY(nccl_status(g_nccl.GetUniqueId(&uid), "ncclGetUniqueId"));
  if (s.size > 1) {
    int rc = g_mpi.Bcast(&uid, static_cast<int>(sizeof uid), g_mpi.byte, 0, g_mpi.comm_world);
    if (rc != kMpiSuccess) return set_error(Status::internal, "MPI broadcast of the NCCL unique id failed: %s", mpi_error(rc).c_str());
  }
  NcclComm comm = nullptr;
  ENTRENA_TRY(nccl_status(g_nccl.CommInitRank(&comm, s.size, uid, s.rank), "ncclCommInitRank"));
  g_nccl_comm.store(comm);
  return Status::ok;
}

Status run_nccl(const Request& r) {
  const Backend* b = cuda_backend();
  if (!b) return Status::cuda;
  ENTRENA_TRY(ensure_nccl());
  NcclComm comm = g_nccl_comm.load();
  void* stream = cuda_stream();
  // The tensor's producers were queued on the library's stream and NCCL runs on the same stream,
  // so the collective starts after them; the synchronize makes the result visible to the host's
  // view of completion (a request is done when its values are).
  const size_t count = static_cast<size_t>(r.count);
  switch (r.kind) {
    case Collective::barrier: {
      // A one-element allreduce on the device stands for the barrier on NCCL-only paths; the MPI
      // barrier is used when MPI is there.
      if (g_mpi.lib) return run_mpi(r);
      return Status::ok;
    }
    case Collective::all_reduce:
      // ncclAvg divides in the reduction's type (truncating for int32), as our MPI path does.
      ENTRENA_TRY(nccl_status(g_nccl.AllReduce(r.data, r.data, count, nccl_dtype(r.dtype), nccl_op(r.op), comm, stream), "ncclAllReduce"));
      break;
    case Collective::broadcast:
      ENTRENA_TRY(nccl_status(g_nccl.Broadcast(r.data, r.data, count, nccl_dtype(r.dtype), r.root, comm, stream), "ncclBroadcast"));
      break;
    case Collective::all_gather:
      ENTRENA_TRY(nccl_status(g_nccl.AllGather(r.data, r.out, count, nccl_dtype(r.dtype), comm, stream), "ncclAllGather"));
      break;
  }
  ENTRENA_TRY(b->synchronize());
  int async_err = kNcclSuccess;
  if (g_nccl.CommGetAsyncError(comm, &async_err) == kNcclSuccess && async_err != kNcclSuccess && async_err != kNcclInProgress)
    return nccl_status(async_err, "asynchronous error");
  return Status::ok;
}

// A world of one process without MPI: every collective is the identity, except that allGather
// copies its input into the output.
Status run_local(const Request& r) {
  if (r.kind == Collective::all_gather && r.count > 0) std::memcpy(r.out, r.data, static_cast<size_t>(r.count) * dtype_size(r.dtype));
  return Status::ok;
}

Status execute(uint64_t serial, const Request& r, std::string* message) {
  State& s = st();
  Status status = Status::ok;
  bool finished = false;
  if (g_mpi.lib && s.size > 1 && s.options.verify) status = agree_and_exchange(serial, r, &finished);
  if (status != Status::ok || finished) {}
  else if (r.device == Device::cuda) status = run_nccl(r);
  else if (g_mpi.lib) status = run_mpi(r);
  else status = run_local(r);
  if (status == Status::ok && r.device == Device::cpu && r.kind == Collective::all_reduce && r.op == ReduceOp::avg && s.size > 1) {
    if (r.dtype == DType::f32) divide<float>(r.data, r.count, s.size);
    else if (r.dtype == DType::f64) divide<double>(r.data, r.count, s.size);
    else divide<int32_t>(r.data, r.count, s.size);
  }
  if (status != Status::ok) *message = last_error_message();
  return status;
}

// The watchdog's view of the collective now executing (under mu).
void mark_busy(State& s, uint64_t seq, const Request& r) {
  s.busy = true;
  s.busy_since = std::chrono::steady_clock::now();
  char what[400];
  std::snprintf(what, sizeof what, "%s #%llu (%s%s%s)", kind_name(r.kind), static_cast<unsigned long long>(seq), r.what.c_str(),
                r.kind == Collective::all_reduce ? ", " : "", r.kind == Collective::all_reduce ? op_name(r.op) : "");
  s.busy_what = what;
}

// The checks of a request, the same for submit() and run() (under mu).
Status check_request(const State& s, const Request& r) {
  if (!s.started || s.finished) return set_error(Status::invalid_argument, "distributed: not initialised (call distributed.init() first), or already finalized");
  if (r.count < 0) return set_error(Status::invalid_argument, "distributed: negative element count");
  if (r.kind == Collective::broadcast && (r.root < 0 || r.root >= s.size))
    return set_error(Status::invalid_argument, "broadcast: root %d is not a rank of this world of %d", r.root, s.size);
  return Status::ok;
}

void comm_loop() {
  State& s = st();
  for (;;) {
    Item item;
    spin_until([&] { return s.submitted.load(std::memory_order_acquire) > s.taken; });
    {
      std::unique_lock<std::mutex> lock(s.mu);
      s.queued.wait(lock, [&] { return !s.queue.empty() && !s.inline_active; });
      ++s.taken;
      item = std::move(s.queue.front());
      s.queue.pop_front();
      if (!item.finalize) mark_busy(s, item.seq, item.req);
    }
    if (item.finalize) {
      if (NcclComm c = g_nccl_comm.exchange(nullptr)) g_nccl.CommDestroy(c);
      if (g_mpi.lib) {
        int done = 0;
        g_mpi.Finalized(&done);
        if (!done) g_mpi.Finalize();
      }
      std::lock_guard<std::mutex> lock(s.mu);
      s.results[item.id].done = true;
      s.finished = true;
      s.last_done.store(item.id, std::memory_order_release);
      s.done.notify_all();
      return;
    }
    std::string message;
    Status status = execute(item.serial, item.req, &message);
    void (*notify)(void*, uint64_t) = nullptr;
    void* ctx = nullptr;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.busy = false;
      Result& res = s.results[item.id];
      res.done = true;
      res.status = status;
      res.message = std::move(message);
      s.last_done.store(item.id, std::memory_order_release);
      notify = s.notify;
      ctx = s.notify_ctx;
      s.done.notify_all();
    }
    if (notify) notify(ctx, item.id);
  }
}

void watchdog_loop() {
  State& s = st();
  const auto limit = std::chrono::milliseconds(s.options.timeout_ms);
  const auto tick = std::chrono::milliseconds(std::clamp<int64_t>(s.options.timeout_ms / 20, 5, 200));
  std::unique_lock<std::mutex> lock(s.mu);
  while (!s.wd_stop) {
    s.wd_cv.wait_for(lock, tick);
    if (s.wd_stop || !s.busy) continue;
    // NCCL reports a failed peer or network asynchronously while its kernels wait (PyTorch's
    // watchdog polls the same): end the job at once instead of at the timeout.
    if (NcclComm c = g_nccl_comm.load()) {
      int async_err = kNcclSuccess;
      if (g_nccl.CommGetAsyncError(c, &async_err) == kNcclSuccess && async_err != kNcclSuccess && async_err != kNcclInProgress) {
        char message[800];
        std::snprintf(message, sizeof message, "entrena.distributed: rank %d of %d: NCCL reported an error during %s: %s; ending the job", s.rank, s.size,
                      s.busy_what.c_str(), g_nccl.GetErrorString(async_err));
        lock.unlock();
        abort_job(1, message);
      }
    }
    const auto waited = std::chrono::steady_clock::now() - s.busy_since;
    if (waited < limit) continue;
    char message[800];
    std::snprintf(message, sizeof message,
                  "entrena.distributed: rank %d of %d: %s did not complete within %lld ms: another rank did not reach this collective, "
                  "or the ranks passed different sizes; ending the job",
                  s.rank, s.size, s.busy_what.c_str(), static_cast<long long>(s.options.timeout_ms));
    lock.unlock();
    abort_job(1, message);
  }
}

}  // namespace

Status init(const InitOptions& options, InitResult* result) {
  State& s = st();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.started) return set_error(Status::invalid_argument, "distributed.init: already initialised in this process");
    if (options.timeout_ms <= 0) return set_error(Status::invalid_argument, "distributed.init: timeoutMs must be positive");
    s.options = options;
  }
  if (options.use_mpi) ENTRENA_TRY(load_mpi(options.mpi_lib));
  // MPI is initialised on the communication thread, the one thread that calls it from then on.
  std::mutex init_mu;
  std::condition_variable init_cv;
  bool init_done = false;
  Status init_status = Status::ok;
  std::string init_message;
  s.comm = std::thread([&] {
    Status status = Status::ok;
    if (g_mpi.lib) {
      int provided = -1;
      int rc = g_mpi.Init_thread(nullptr, nullptr, kMpiThreadMultiple, &provided);
      if (rc != kMpiSuccess) {
        status = set_error(Status::internal, "MPI_Init_thread failed: %s", mpi_error(rc).c_str());
      } else {
        // Errors come back as codes (then JavaScript errors), not as OpenMPI's default abort.
        g_mpi.Comm_set_errhandler(g_mpi.comm_world, g_mpi.errors_return);
        g_mpi.Comm_rank(g_mpi.comm_world, &s.rank);
        g_mpi.Comm_size(g_mpi.comm_world, &s.size);
        result->thread_level = provided;
        s.thread_level = provided;
        char version[kMpiMaxString];
        int len = 0;
        if (g_mpi.Get_library_version(version, &len) == kMpiSuccess) {
          std::string v(version, static_cast<size_t>(std::max(0, len)));
          result->library = v.substr(0, v.find_first_of(",\n"));
        }
      }
    } else {
      result->library = "none";
    }
    {
      // Notified under the lock: init() returns (and its locals go) only after this block.
      std::lock_guard<std::mutex> lock(init_mu);
      init_status = status;
      if (status != Status::ok) init_message = last_error_message();
      init_done = true;
      init_cv.notify_all();
    }
    if (status == Status::ok) comm_loop();
  });
  {
    std::unique_lock<std::mutex> lock(init_mu);
    init_cv.wait(lock, [&] { return init_done; });
  }
  if (init_status != Status::ok) {
    s.comm.join();
    return set_error(init_status, "%s", init_message.c_str());
  }
  result->rank = s.rank;
  result->size = s.size;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.started = true;
  }
  s.watchdog = std::thread(watchdog_loop);
  return Status::ok;
}

bool initialized() {
  State& s = st();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.started && !s.finished;
}
int rank() { return st().rank; }
int world_size() { return st().size; }

Status submit(const Request& r, uint64_t* id) {
  State& s = st();
  std::lock_guard<std::mutex> lock(s.mu);
  ENTRENA_TRY(check_request(s, r));
  Item item;
  item.id = s.next_id++;
  item.seq = s.seq[static_cast<int>(r.kind)]++;
  item.serial = s.serial++;
  item.req = r;
  s.results.emplace(item.id, Result{});
  *id = item.id;
  s.queue.push_back(std::move(item));
  s.submitted.fetch_add(1, std::memory_order_release);
  s.queued.notify_one();
  return Status::ok;
}

Status run(const Request& r, std::string* message) {
  State& s = st();
  uint64_t serial = 0;
  bool here = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ENTRENA_TRY(check_request(s, r));
    // MPI_THREAD_SERIALIZED (2, in OpenMPI and MPICH) or more lets this thread make the calls;
    // without MPI the collective is a local copy. CUDA requests stay on the communication thread.
    here = r.device == Device::cpu && s.queue.empty() && !s.busy && !s.inline_active && (!g_mpi.lib || s.thread_level >= 2);
    if (here) {
      s.inline_active = true;
      serial = s.serial++;
      mark_busy(s, s.seq[static_cast<int>(r.kind)]++, r);
    }
  }
  if (!here) {
    uint64_t id = 0;
    ENTRENA_TRY(submit(r, &id));
    bool done_before = false;
    return wait(id, message, &done_before);
  }
  const Status status = execute(serial, r, message);
  std::lock_guard<std::mutex> lock(s.mu);
  s.busy = false;
  s.inline_active = false;
  if (!s.queue.empty()) s.queued.notify_one();
  return status;
}

Status wait(uint64_t id, std::string* message, bool* done_before) {
  State& s = st();
  spin_until([&] { return s.last_done.load(std::memory_order_acquire) >= id; });
  std::unique_lock<std::mutex> lock(s.mu);
  auto it = s.results.find(id);
  if (it == s.results.end()) {
    *done_before = true;
    return Status::ok;
  }
  *done_before = false;
  s.done.wait(lock, [&] { return s.results[id].done; });
  it = s.results.find(id);
  Status status = it->second.status;
  *message = std::move(it->second.message);
  s.results.erase(it);
  return status;
}

bool is_done(uint64_t id) {
  State& s = st();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.results.find(id);
  return it == s.results.end() || it->second.done;
}

void set_notifier(void (*fn)(void*, uint64_t), void* ctx) {
  State& s = st();
  std::lock_guard<std::mutex> lock(s.mu);
  s.notify = fn;
  s.notify_ctx = ctx;
}

Status finalize() {
  State& s = st();
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.started || s.finished) return Status::ok;
    Item item;
    item.id = id = s.next_id++;
    item.finalize = true;
    s.results.emplace(item.id, Result{});
    s.queue.push_back(std::move(item));
    s.submitted.fetch_add(1, std::memory_order_release);
    s.queued.notify_one();
  }
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.done.wait(lock, [&] { return s.finished; });
    s.results.erase(id);
    s.notify = nullptr;
    s.wd_stop = true;
    s.wd_cv.notify_all();
  }
  if (s.comm.joinable()) s.comm.join();
  if (s.watchdog.joinable()) s.watchdog.join();
  return Status::ok;
}

void abort_job(int code, const char* message) {
  if (message && *message) {
    std::fprintf(stderr, "%s\n", message);
    std::fflush(stderr);
  }
  if (NcclComm c = g_nccl_comm.exchange(nullptr)) g_nccl.CommAbort(c);
  if (g_mpi.lib && g_mpi.Abort) g_mpi.Abort(g_mpi.comm_world, code);
  _exit(code);
}

}  // namespace dist
}  // namespace entrena
