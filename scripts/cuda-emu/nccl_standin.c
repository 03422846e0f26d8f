/* nccl_standin.c — a stand-in libnccl.so.2 for a world of one on the emulated CUDA device, where
 * device memory is host memory: it checks the wiring of entrena's NCCL table (native/distributed/
 * comm.cc: the symbol names, the argument order, the unique id handed to ncclCommInitRank, the
 * data types and reductions passed) with the GPU suite test/gpu/distributed.test.mjs, not NCCL
 * itself. test/stress/cuda_emu.test.ts compiles it; ENTRENA_NCCL_LIB points entrena at it. */
#include <string.h>
typedef struct { char internal[128]; } ncclUniqueId;
/* ncclInt32 = 2, ncclFloat32 = 7, ncclFloat64 = 8: anything else is a wiring error. */
static int known(int dt) { return dt == 2 || dt == 6 || dt == 7 || dt == 8; }
static size_t size_of(int dt) { return dt == 8 ? 8 : dt == 6 ? 2 : 4; }
int ncclGetUniqueId(ncclUniqueId* id) { memset(id, 7, sizeof *id); return 0; }
int ncclCommInitRank(void** comm, int n, ncclUniqueId id, int rank) { if (n != 1 || rank != 0 || id.internal[5] != 7) return 5; *comm = (void*)0x1234; return 0; }
int ncclAllReduce(const void* s, void* r, size_t n, int dt, int op, void* comm, void* stream) { if (comm != (void*)0x1234 || op < 0 || op > 4 || !known(dt)) return 4; if (s != r) memcpy(r, s, n * size_of(dt)); return 0; }
int ncclBroadcast(const void* s, void* r, size_t n, int dt, int root, void* comm, void* stream) { if (comm != (void*)0x1234 || root != 0 || !known(dt)) return 4; if (s != r) memcpy(r, s, n * size_of(dt)); return 0; }
int ncclAllGather(const void* s, void* r, size_t n, int dt, void* comm, void* stream) { if (comm != (void*)0x1234 || !known(dt)) return 4; memcpy(r, s, n * size_of(dt)); return 0; }
int ncclCommGetAsyncError(void* comm, int* e) { *e = 0; return 0; }
int ncclCommAbort(void* comm) { return 0; }
int ncclCommDestroy(void* comm) { return 0; }
const char* ncclGetErrorString(int r) { return "stand-in error"; }
