// comm.h — collective communication for data-parallel training: MPI for host memory, NCCL for
// CUDA memory, both loaded at run time with dlopen (so a binary built here loads on machines
// without either library), driven by one communication thread.
//
// Why one thread: MPI collectives issued concurrently from several threads (the libuv pool) give
// wrong sums silently on the same communicator, and MPI_THREAD_MULTIPLE does not make concurrent
// collectives on one communicator legal. So MPI and NCCL calls are made one at a time, in the FIFO
// order in which requests were submitted: every rank submits the same collectives in the same
// order, so the order on the wire is the same everywhere. Queued requests (asynchronous ones, and
// DistributedDataParallel's buckets during backward) run on the communication thread; a
// synchronous collective submitted while nothing is queued or running runs on its caller's thread
// instead (run()), with the communication thread parked — still one call at a time, still in order,
// and without the two hand-offs, which cost more than the MPI call itself below a few MB.
//
// Watchdog: a second thread watches the request being executed; when it has not finished after
// the timeout (a rank that never reached the collective, or ranks that passed different sizes),
// it prints which rank, collective, sequence number and shape were waiting, and ends the whole job
// (MPI_Abort, and ncclCommAbort first when NCCL is in use). This is the one place where native
// code ends the process: the job is already lost, and leaving the other ranks blocked forever is
// the alternative (PyTorch's NCCL watchdog does the same).
//
// This file has no N-API: native/bindings.cc holds the entry points, pins the tensors' buffers
// while a request is in flight and turns Status codes into JavaScript errors.
#pragma once
#include <cstdint>
#include <string>

#include "../core/status.h"
#include "../core/view.h"

namespace entrena {
namespace dist {

enum class Collective : int32_t { all_reduce = 0, broadcast = 1, all_gather = 2, barrier = 3 };
// avg is sum followed by a division by the world size (integer division, truncating, for int32,
// as NCCL's ncclAvg).
enum class ReduceOp : int32_t { sum = 0, avg = 1, max = 2, min = 3 };

struct InitOptions {
  bool use_mpi = false;           // false: a world of one process, no library loaded
  std::string mpi_lib;            // path or soname; empty: "libmpi.so.40"
  std::string nccl_lib;           // path or soname; empty: "libnccl.so.2" (loaded on first CUDA use)
  int64_t timeout_ms = 600000;    // watchdog limit for one collective
  bool verify = true;             // compare a header across ranks before each collective
};

struct InitResult {
  int rank = 0;
  int size = 1;
  int thread_level = -1;          // MPI's provided thread level, -1 without MPI
  std::string library;            // MPI_Get_library_version's first line, or "none"
};

struct Request {
  Collective kind = Collective::barrier;
  Device device = Device::cpu;
  DType dtype = DType::f32;
  void* data = nullptr;           // in place buffer (all_reduce, broadcast); the send buffer (all_gather)
  void* out = nullptr;            // all_gather: the receive buffer of size · count elements
  int64_t count = 0;              // elements per rank
  ReduceOp op = ReduceOp::sum;
  int root = 0;
  std::string what;               // for messages: "float32 [3, 4]"
};

// Loads the library (when use_mpi), starts the communication and watchdog threads and initialises
// MPI on the communication thread. A second call fails with invalid_argument.
Status init(const InitOptions& options, InitResult* result);
bool initialized();
// The world (valid after init).
int rank();
int world_size();

// Queues `r` for the communication thread and returns its id in *id. The buffers must stay valid
// until the request completes (bindings.cc pins them).
Status submit(const Request& r, uint64_t* id);
// Runs `r` to completion (a synchronous collective). When nothing is queued or running, the calling
// thread makes the MPI calls itself, in its turn in the FIFO order (MPI allows calls from several
// threads when they never overlap: the communication thread stays parked meanwhile), which saves
// the two thread hand-offs a queued request costs; otherwise, and for CUDA tensors, it is
// submit() and wait(). The buffers need only live for the call.
Status run(const Request& r, std::string* message);
// Blocks until request `id` is done; returns its status (the message in *message) and forgets it.
// An id that is not pending (already waited) returns ok with *done_before = true.
Status wait(uint64_t id, std::string* message, bool* done_before);
// True when request `id` has finished (or is unknown).
bool is_done(uint64_t id);
// Called on the communication thread after each request finishes (bindings.cc forwards it to the
// JavaScript thread through a thread-safe function).
void set_notifier(void (*fn)(void* ctx, uint64_t id), void* ctx);

// Finishes the queue, finalises MPI (and NCCL), joins the threads. Idempotent.
Status finalize();
// Ends the whole job now (MPI_Abort; _exit without MPI). For the JavaScript side's fatal paths: a
// rank that throws must not leave the others blocked in a collective.
[[noreturn]] void abort_job(int code, const char* message);

}  // namespace dist
}  // namespace entrena
