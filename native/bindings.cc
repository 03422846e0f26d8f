// bindings.cc — the N-API boundary, and the only file that includes napi.h (DESIGN principle 6).
//
// What crosses: tensors' memory as opaque handles (an External wrapping a Storage this file owns),
// and numbers. The shape, strides and offsets of elementwise operands travel through a scratch
// Float64Array that JavaScript fills before the call (`setIter` in lib/ts/core/iter.ts writes
// it), which keeps a small op's boundary cost to one N-API call with a handful of arguments.
//
// Safety: every handle is checked (ours, not disposed, on the expected device) and every view is
// bounds-checked against its buffer before a kernel runs, so no JavaScript input can make native
// code read or write outside memory it owns. Kernel failures come back as Status codes and are
// thrown as JavaScript errors built by the error factory that lib/ts registers at init, so they
// are instances of entrena's error classes with a stable `code`.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/backend.h"
#include "core/cuda_driver.h"
#include "cpu/blas.h"
#include "distributed/comm.h"
#include "cpu/kernels.h"
#include "cpu/threads.h"

namespace entrena {
namespace {

constexpr uint64_t kStorageMagic = 0x656e7472656e6131ull;  // "entrena1"

struct Storage {
  uint64_t magic = kStorageMagic;
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  bool freed = false;
};

// Process-wide accounting per device: live buffers and bytes (worker threads share the heap).
std::atomic<int64_t> g_live_buffers[2];
std::atomic<int64_t> g_live_bytes[2];

// Per-environment state (one per main thread or worker thread that loads the addon).
struct AddonData {
  double* scratch = nullptr;
  size_t scratch_len = 0;
  Napi::ObjectReference scratch_ref;
  Napi::FunctionReference make_error;
  // Distributed requests whose completion JavaScript awaits (ids), and how many keep the loop alive.
  std::unordered_set<uint64_t> dist_notify;
  int dist_refs = 0;
};

// Scratch layout (doubles): [0] ndim, [1..8] shape, operand o at 16 + 16·o: [0] element offset,
// [1..8] strides. Its one writer is `setIter` in lib/ts/core/iter.ts, which must match it
// (lib/ts/native.ts only allocates the buffer and registers it through init).
constexpr int kScratchShape = 1;
constexpr int kScratchOperands = 16;
constexpr int kScratchOperandStride = 16;
constexpr size_t kScratchLen = 128;

AddonData* data_of(const Napi::Env& env) { return env.GetInstanceData<AddonData>(); }

[[noreturn]] void throw_code(const Napi::Env& env, const char* code, const std::string& message) {
  AddonData* d = data_of(env);
  if (d && !d->make_error.IsEmpty()) {
    Napi::Value err = d->make_error.Call({Napi::String::New(env, code), Napi::String::New(env, message)});
    throw Napi::Error(env, err);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

[[noreturn]] void throw_status(const Napi::Env& env, Status s) {
  throw_code(env, status_code_name(s), last_error_message());
}

inline void check(const Napi::Env& env, Status s) {
  if (s != Status::ok) throw_status(env, s);
}

const Backend& backend_for(const Napi::Env& env, Device dev) {
  if (dev == Device::cpu) return cpu_backend();
  const Backend* b = cuda_backend();
  // cuda_backend() has set the message: not compiled in, or compiled but no usable device.
  if (!b) throw_status(env, cuda_compiled() ? Status::cuda : Status::not_compiled_with_cuda);
  return *b;
}

template <typename Fn>
Fn kernel(const Napi::Env& env, const Backend& b, Fn fn, const char* name) {
  if (!fn) throw_code(env, "ERR_KERNEL_NOT_AVAILABLE", std::string("kernel '") + name + "' is not available on '" + b.name + "'");
  return fn;
}

Storage* storage_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsExternal()) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " is not a tensor buffer handle");
  Storage* s = v.As<Napi::External<Storage>>().Data();
  if (!s || s->magic != kStorageMagic) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " is not an entrena buffer");
  if (s->freed) throw_code(info.Env(), "ERR_DISPOSED", "the tensor's memory has been disposed");
  return s;
}

int64_t int_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != std::floor(d))
    throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " must be an integer");
  return static_cast<int64_t>(d);
}

double num_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

DType dtype_arg(const Napi::CallbackInfo& info, size_t i) {
  int64_t d = int_arg(info, i);
  if (!dtype_valid(d)) throw_code(info.Env(), "ERR_DTYPE", "unknown dtype code " + std::to_string(d));
  return static_cast<DType>(d);
}

Device device_arg(const Napi::CallbackInfo& info, size_t i) {
  int64_t d = int_arg(info, i);
  if (d < 0 || d > 1) throw_code(info.Env(), "ERR_DEVICE", "unknown device code " + std::to_string(d));
  return static_cast<Device>(d);
}

// Checks that `count` elements of `dt` starting at element `offset` lie inside the buffer.
void check_range(const Napi::Env& env, const Storage* s, DType dt, int64_t offset, int64_t count) {
  if (count == 0) return;
  size_t es = dtype_size(dt);
  int64_t end = 0, end_bytes = 0;
  if (offset < 0 || count < 0 || __builtin_add_overflow(offset, count, &end) || __builtin_mul_overflow(end, static_cast<int64_t>(es), &end_bytes) ||
      static_cast<uint64_t>(end_bytes) > s->bytes)
    throw_code(env, "ERR_INDEX", "view of " + std::to_string(count) + " elements at offset " + std::to_string(offset) +
                                     " exceeds its buffer of " + std::to_string(s->bytes) + " bytes");
}

// Products of sizes that JavaScript passes in, checked: a product that overflowed int64 could wrap
// to a small number and slip past the bounds checks.
int64_t mul_checked(const Napi::Env& env, std::initializer_list<int64_t> factors) {
  int64_t r = 1;
  for (int64_t f : factors) {
    if (f < 0 || __builtin_mul_overflow(r, f, &r)) throw_code(env, "ERR_SHAPE", "sizes overflow 64-bit element counts");
  }
  return r;
}

// A double from the scratch buffer as an int64, or an error for NaN, infinities and values beyond
// ±2^53 (converting those is undefined behaviour in C++).
int64_t scratch_int(const Napi::Env& env, double v) {
  if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0)) throw_code(env, "ERR_INVALID_ARGUMENT", "invalid offset or stride in the scratch buffer");
  return static_cast<int64_t>(v);
}

char* at(const Storage* s, DType dt, int64_t offset) { return static_cast<char*>(s->data) + offset * dtype_size(dt); }

// Reads the iteration shape from scratch and binds operand `o` (its offset and strides) to `s`.
void read_shape(const Napi::Env& env, Iter& it) {
  const double* sc = data_of(env)->scratch;
  if (!(sc[0] >= 0 && sc[0] <= kMaxDims)) throw_code(env, "ERR_SHAPE", "rank exceeds the maximum of 8");
  int nd = static_cast<int>(sc[0]);
  it.ndim = nd;
  int64_t numel = 1;
  for (int d = 0; d < nd; ++d) {
    double v = sc[kScratchShape + d];
    if (!(v >= 0 && v < 9.0e15)) throw_code(env, "ERR_SHAPE", "invalid dimension size");
    it.shape[d] = static_cast<int64_t>(v);
    if (__builtin_mul_overflow(numel, it.shape[d], &numel)) throw_code(env, "ERR_SHAPE", "the iteration has more elements than 64-bit counts hold");
  }
}

void bind_operand(const Napi::Env& env, Iter& it, int o, const Storage* s, DType dt) {
  const double* sc = data_of(env)->scratch + kScratchOperands + o * kScratchOperandStride;
  int64_t offset = scratch_int(env, sc[0]);
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (int d = 0; d < it.ndim; ++d) {
    int64_t st = scratch_int(env, sc[1 + d]);
    it.strides[o][d] = st;
    if (it.shape[d] == 0) empty = true;
    int64_t span = 0;
    if (it.shape[d] > 0 && (__builtin_mul_overflow(it.shape[d] - 1, st, &span) || __builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi)))
      throw_code(env, "ERR_SHAPE", "operand strides overflow 64-bit offsets");
  }
  int64_t end_bytes = 0;
  if (!empty && (lo < 0 || __builtin_mul_overflow(hi + 1, static_cast<int64_t>(dtype_size(dt)), &end_bytes) || static_cast<uint64_t>(end_bytes) > s->bytes))
    throw_code(env, "ERR_INDEX", "operand view reaches outside its buffer");
  // (An empty view never dereferences its pointer; its offset may point anywhere.)
  it.data[o] = empty ? s->data : at(s, dt, offset);
}

// A number passed where a tensor is expected becomes a broadcast scalar held in `slot`.
void bind_scalar(Iter& it, int o, double value, DType dt, double* slot) {
  if (dt == DType::f32) *reinterpret_cast<float*>(slot) = static_cast<float>(value);
  else if (dt == DType::f64) *slot = value;
  else *reinterpret_cast<int32_t*>(slot) = convert<int32_t, double>(value);
  it.data[o] = slot;
  for (int d = 0; d < kMaxDims; ++d) it.strides[o][d] = 0;
}

void require_same_device(const Napi::Env& env, std::initializer_list<const Storage*> list) {
  Device dev = (*list.begin())->device;
  for (const Storage* s : list)
    if (s && s->device != dev) throw_code(env, "ERR_DEVICE", "operands are on different devices (cpu and cuda)");
}

// ---- lifecycle -------------------------------------------------------------------------------

// init(scratch, makeError) → the scratch buffer to use. The first caller's buffer is kept and
// returned to every later caller: a second copy of the JavaScript library in the same thread (two
// module instances loading this one addon) then shares it instead of silently redirecting the
// first copy's shapes into a buffer it never writes.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* d = data_of(env);
  if (d->scratch) return d->scratch_ref.Value();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_code(env, "ERR_INVALID_ARGUMENT", "init expects a Float64Array scratch buffer");
  Napi::Float64Array arr = info[0].As<Napi::Float64Array>();
  if (arr.ElementLength() < kScratchLen) throw_code(env, "ERR_INVALID_ARGUMENT", "scratch buffer too small");
  d->scratch = arr.Data();
  d->scratch_len = arr.ElementLength();
  d->scratch_ref = Napi::Persistent(arr.As<Napi::Object>());
  if (info.Length() > 1 && info[1].IsFunction()) d->make_error = Napi::Persistent(info[1].As<Napi::Function>());
  return arr;
}

void finalize_storage(Napi::Env env, Storage* s) {
  if (!s->freed) {
    if (s->device == Device::cpu) cpu_backend().release(s->data, s->bytes);
    else if (const Backend* b = cuda_backend()) b->release(s->data, s->bytes);
    int dev = static_cast<int>(s->device);
    g_live_buffers[dev]--;
    g_live_bytes[dev] -= static_cast<int64_t>(s->bytes);
    if (s->device == Device::cpu) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(s->bytes));
  }
  delete s;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Device dev = device_arg(info, 0);
  int64_t bytes = int_arg(info, 1);
  if (bytes < 0) throw_code(env, "ERR_INVALID_ARGUMENT", "negative allocation size");
  const Backend& b = backend_for(env, dev);
  void* p = nullptr;
  check(env, b.alloc(static_cast<size_t>(bytes), &p));
  Storage* s = new Storage();
  s->data = p;
  s->bytes = static_cast<size_t>(bytes);
  s->device = dev;
  g_live_buffers[static_cast<int>(dev)]++;
  g_live_bytes[static_cast<int>(dev)] += bytes;
  // V8 is told about host memory so that garbage collection pressure reflects it.
  if (dev == Device::cpu) Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  return Napi::External<Storage>::New(env, s, finalize_storage);
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal()) throw_code(env, "ERR_INVALID_ARGUMENT", "free expects a buffer handle");
  Storage* s = info[0].As<Napi::External<Storage>>().Data();
  if (!s || s->magic != kStorageMagic) throw_code(env, "ERR_INVALID_ARGUMENT", "free expects an entrena buffer");
  if (s->freed) return env.Undefined();
  const Backend& b = backend_for(env, s->device);
  check(env, b.release(s->data, s->bytes));
  s->freed = true;
  s->data = nullptr;
  int dev = static_cast<int>(s->device);
  g_live_buffers[dev]--;
  g_live_bytes[dev] -= static_cast<int64_t>(s->bytes);
  if (s->device == Device::cpu) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(s->bytes));
  return env.Undefined();
}

// write(handle, byteOffset, typedArray): host → buffer.  read(handle, byteOffset, typedArray): buffer → host.
void host_transfer(const Napi::CallbackInfo& info, bool to_host) {
  Napi::Env env = info.Env();
  Storage* s = storage_arg(info, 0);
  int64_t off = int_arg(info, 1);
  if (!info[2].IsTypedArray()) throw_code(env, "ERR_INVALID_ARGUMENT", "expected a typed array");
  Napi::TypedArray ta = info[2].As<Napi::TypedArray>();
  size_t n = ta.ByteLength();
  char* host = static_cast<char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (off < 0 || static_cast<uint64_t>(off) + n > s->bytes) throw_code(env, "ERR_INDEX", "transfer exceeds the buffer");
  const Backend& b = backend_for(env, s->device);
  char* dev = static_cast<char*>(s->data) + off;
  check(env, to_host ? b.copy_to_host(host, dev, n) : b.copy_from_host(dev, host, n));
}
Napi::Value Write(const Napi::CallbackInfo& info) { host_transfer(info, false); return info.Env().Undefined(); }
Napi::Value Read(const Napi::CallbackInfo& info) { host_transfer(info, true); return info.Env().Undefined(); }

// ---- elementwise -------------------------------------------------------------------------------

// unary(op, dtype, out, a, p0, p1)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t op = int_arg(info, 0);
  DType dt = dtype_arg(info, 1);
  Storage* out = storage_arg(info, 2);
  Storage* a = storage_arg(info, 3);
  require_same_device(env, {out, a});
  Iter it;
  it.nops = 2;
  read_shape(env, it);
  bind_operand(env, it, 0, out, dt);
  bind_operand(env, it, 1, a, dt);
  const Backend& b = backend_for(env, out->device);
  check(env, kernel(env, b, b.unary, "unary")(static_cast<UnaryOp>(op), dt, it, num_arg(info, 4), num_arg(info, 5)));
  return env.Undefined();
}

// binary(op, dtype, out, a | number, b | number, p0, p1)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t op = int_arg(info, 0);
  DType dt = dtype_arg(info, 1);
  Storage* out = storage_arg(info, 2);
  Iter it;
  it.nops = 3;
  read_shape(env, it);
  bind_operand(env, it, 0, out, dt);
  double slots[2] = {0, 0};
  for (int o = 1; o <= 2; ++o) {
    if (info[2 + o].IsNumber()) {
      if (out->device != Device::cpu) throw_code(env, "ERR_INVALID_ARGUMENT", "scalar operands must be tensors on cuda");
      bind_scalar(it, o, info[2 + o].As<Napi::Number>().DoubleValue(), dt, &slots[o - 1]);
    } else {
      Storage* s = storage_arg(info, 2 + o);
      require_same_device(env, {out, s});
      bind_operand(env, it, o, s, dt);
    }
  }
  const Backend& b = backend_for(env, out->device);
  check(env, kernel(env, b, b.binary, "binary")(static_cast<BinaryOp>(op), dt, it, num_arg(info, 5), num_arg(info, 6)));
  return env.Undefined();
}

// where(dtype, condDtype, out, cond, a, b)
Napi::Value Where(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dt = dtype_arg(info, 0), cdt = dtype_arg(info, 1);
  Storage *out = storage_arg(info, 2), *c = storage_arg(info, 3), *a = storage_arg(info, 4), *bb = storage_arg(info, 5);
  require_same_device(env, {out, c, a, bb});
  Iter it;
  it.nops = 4;
  read_shape(env, it);
  bind_operand(env, it, 0, out, dt);
  bind_operand(env, it, 1, c, cdt);
  bind_operand(env, it, 2, a, dt);
  bind_operand(env, it, 3, bb, dt);
  const Backend& b = backend_for(env, out->device);
  check(env, kernel(env, b, b.where, "where")(dt, cdt, it));
  return env.Undefined();
}

// cast(outDtype, inDtype, out, in): strided copy with conversion
Napi::Value Cast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType odt = dtype_arg(info, 0), idt = dtype_arg(info, 1);
  Storage *out = storage_arg(info, 2), *in = storage_arg(info, 3);
  require_same_device(env, {out, in});
  Iter it;
  it.nops = 2;
  read_shape(env, it);
  bind_operand(env, it, 0, out, odt);
  bind_operand(env, it, 1, in, idt);
  const Backend& b = backend_for(env, out->device);
  check(env, kernel(env, b, b.cast, "cast")(odt, idt, it));
  return env.Undefined();
}

// fill(dtype, out, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dt = dtype_arg(info, 0);
  Storage* out = storage_arg(info, 1);
  Iter it;
  it.nops = 1;
  read_shape(env, it);
  bind_operand(env, it, 0, out, dt);
  const Backend& b = backend_for(env, out->device);
  check(env, kernel(env, b, b.fill, "fill")(dt, it, num_arg(info, 2)));
  return env.Undefined();
}

// ---- reductions, softmax, indexing: contiguous operands given as (handle, element offset) ------

struct Span3 { int64_t outer, n, inner; };

Span3 span_args(const Napi::CallbackInfo& info, size_t i) {
  Span3 s{int_arg(info, i), int_arg(info, i + 1), int_arg(info, i + 2)};
  if (s.outer < 0 || s.n < 0 || s.inner < 0) throw_code(info.Env(), "ERR_SHAPE", "negative extent");
  return s;
}

// reduce(op, dtype, outer, n, inner, in, inOff, out, outOff, p0)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t op = int_arg(info, 0);
  if (op < 0 || op > static_cast<int64_t>(ReduceOp::prod)) throw_code(env, "ERR_INVALID_ARGUMENT", "unknown reduction");
  DType dt = dtype_arg(info, 1);
  Span3 s = span_args(info, 2);
  Storage *in = storage_arg(info, 5), *out = storage_arg(info, 7);
  require_same_device(env, {in, out});
  int64_t in_off = int_arg(info, 6), out_off = int_arg(info, 8);
  bool is_arg = op == static_cast<int64_t>(ReduceOp::argmax) || op == static_cast<int64_t>(ReduceOp::argmin);
  DType out_dt = is_arg ? DType::i32 : dt;
  check_range(env, in, dt, in_off, mul_checked(env, {s.outer, s.n, s.inner}));
  check_range(env, out, out_dt, out_off, mul_checked(env, {s.outer, s.inner}));
  const Backend& b = backend_for(env, in->device);
  check(env, kernel(env, b, b.reduce, "reduce")(static_cast<ReduceOp>(op), dt, s.outer, s.n, s.inner, at(in, dt, in_off),
                                                 at(out, out_dt, out_off), num_arg(info, 9)));
  return env.Undefined();
}

// softmax(dtype, log, outer, n, inner, in, inOff, out, outOff)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dt = dtype_arg(info, 0);
  bool log = info[1].ToBoolean();
  Span3 s = span_args(info, 2);
  Storage *in = storage_arg(info, 5), *out = storage_arg(info, 7);
  require_same_device(env, {in, out});
  int64_t in_off = int_arg(info, 6), out_off = int_arg(info, 8), total = mul_checked(env, {s.outer, s.n, s.inner});
  check_range(env, in, dt, in_off, total);
  check_range(env, out, dt, out_off, total);
  const Backend& b = backend_for(env, in->device);
  check(env, kernel(env, b, b.softmax, "softmax")(dt, log, s.outer, s.n, s.inner, at(in, dt, in_off), at(out, dt, out_off)));
  return env.Undefined();
}

// softmaxBackward(dtype, log, outer, n, inner, y, yOff, dy, dyOff, dx, dxOff)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dt = dtype_arg(info, 0);
  bool log = info[1].ToBoolean();
  Span3 s = span_args(info, 2);
  Storage *y = storage_arg(info, 5), *dy = storage_arg(info, 7), *dx = storage_arg(info, 9);
  require_same_device(env, {y, dy, dx});
  int64_t total = mul_checked(env, {s.outer, s.n, s.inner});
  int64_t yo = int_arg(info, 6), dyo = int_arg(info, 8), dxo = int_arg(info, 10);
  check_range(env, y, dt, yo, total);
  check_range(env, dy, dt, dyo, total);
  check_range(env, dx, dt, dxo, total);
  const Backend& b = backend_for(env, y->device);
  check(env, kernel(env, b, b.softmax_backward, "softmax_backward")(dt, log, s.outer, s.n, s.inner, at(y, dt, yo), at(dy, dt, dyo),
                                                                     at(dx, dt, dxo)));
  return env.Undefined();
}

// index(kind, dtype, outer, nSrcOrDst, inner, src, srcOff, idx, idxOff, nIdx, out, outOff)
// kind: IndexKind (core/ops.h): select, add (out is dst, src is added), gather, scatter_add.
Napi::Value Index(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t kind_arg = int_arg(info, 0);
  if (kind_arg < 0 || kind_arg > static_cast<int64_t>(IndexKind::scatter_add)) throw_code(env, "ERR_INVALID_ARGUMENT", "unknown index kind");
  const IndexKind kind = static_cast<IndexKind>(kind_arg);
  DType dt = dtype_arg(info, 1);
  Span3 s = span_args(info, 2);
  Storage *src = storage_arg(info, 5), *idx = storage_arg(info, 7), *out = storage_arg(info, 10);
  require_same_device(env, {src, idx, out});
  int64_t so = int_arg(info, 6), io = int_arg(info, 8), n_idx = int_arg(info, 9), oo = int_arg(info, 11);
  if (n_idx < 0) throw_code(env, "ERR_SHAPE", "negative index count");
  bool per_element = kind == IndexKind::gather || kind == IndexKind::scatter_add;
  int64_t idx_count = per_element ? mul_checked(env, {s.outer, n_idx, s.inner}) : n_idx;
  check_range(env, idx, DType::i32, io, idx_count);
  int64_t big = mul_checked(env, {s.outer, s.n, s.inner}), small = mul_checked(env, {s.outer, n_idx, s.inner});
  const Backend& b = backend_for(env, src->device);
  const int32_t* ip = reinterpret_cast<const int32_t*>(at(idx, DType::i32, io));
  switch (kind) {
    case IndexKind::select:
      check_range(env, src, dt, so, big);
      check_range(env, out, dt, oo, small);
      check(env, kernel(env, b, b.index_select, "index_select")(dt, s.outer, s.n, s.inner, at(src, dt, so), ip, n_idx, at(out, dt, oo)));
      break;
    case IndexKind::add:
      check_range(env, src, dt, so, small);
      check_range(env, out, dt, oo, big);
      check(env, kernel(env, b, b.index_add, "index_add")(dt, s.outer, s.n, s.inner, at(out, dt, oo), ip, n_idx, at(src, dt, so)));
      break;
    case IndexKind::gather:
      check_range(env, src, dt, so, big);
      check_range(env, out, dt, oo, small);
      check(env, kernel(env, b, b.gather, "gather")(dt, s.outer, s.n, s.inner, at(src, dt, so), ip, n_idx, at(out, dt, oo)));
      break;
    case IndexKind::scatter_add:
      check_range(env, src, dt, so, small);
      check_range(env, out, dt, oo, big);
      check(env, kernel(env, b, b.scatter_add, "scatter_add")(dt, s.outer, s.n, s.inner, at(out, dt, oo), ip, n_idx, at(src, dt, so)));
      break;
    default: throw_code(env, "ERR_INVALID_ARGUMENT", "unknown index kind");
  }
  return env.Undefined();
}

// random(kind, dtype, n, out, outOff, seed, offset, a, b): kind 0 uniform [a, b), 1 normal (mean a, std b)
Napi::Value Random(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t kind = int_arg(info, 0);
  DType dt = dtype_arg(info, 1);
  int64_t n = int_arg(info, 2);
  Storage* out = storage_arg(info, 3);
  int64_t off = int_arg(info, 4);
  check_range(env, out, dt, off, n);
  uint64_t seed = static_cast<uint64_t>(int_arg(info, 5)), counter = static_cast<uint64_t>(int_arg(info, 6));
  const Backend& b = backend_for(env, out->device);
  if (kind == 0)
    check(env, kernel(env, b, b.random_uniform, "random_uniform")(dt, n, at(out, dt, off), seed, counter, num_arg(info, 7), num_arg(info, 8)));
  else
    check(env, kernel(env, b, b.random_normal, "random_normal")(dt, n, at(out, dt, off), seed, counter, num_arg(info, 7), num_arg(info, 8)));
  return env.Undefined();
}

// gemm(dtype, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB,
//      beta, c, cOff, ldc, strideC, batch, reference?, tf32?)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmArgs g{};
  g.dtype = dtype_arg(info, 0);
  g.trans_a = info[1].ToBoolean();
  g.trans_b = info[2].ToBoolean();
  g.m = int_arg(info, 3); g.n = int_arg(info, 4); g.k = int_arg(info, 5);
  g.alpha = num_arg(info, 6);
  Storage *a = storage_arg(info, 7), *b = storage_arg(info, 11), *c = storage_arg(info, 16);
  require_same_device(env, {a, b, c});
  int64_t ao = int_arg(info, 8), bo = int_arg(info, 12), co = int_arg(info, 17);
  g.lda = int_arg(info, 9); g.stride_a = int_arg(info, 10);
  g.ldb = int_arg(info, 13); g.stride_b = int_arg(info, 14);
  g.beta = num_arg(info, 15);
  g.ldc = int_arg(info, 18); g.stride_c = int_arg(info, 19);
  g.batch = int_arg(info, 20);
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0) throw_code(env, "ERR_SHAPE", "negative GEMM extent");
  // Extent checks: the last element each operand touches must lie inside its buffer.
  auto extent = [&](int64_t rows, int64_t cols, int64_t ld, int64_t stride) -> int64_t {
    if (rows == 0 || cols == 0 || g.batch == 0) return 0;
    if (ld < cols || stride < 0) throw_code(env, "ERR_SHAPE", "invalid GEMM leading dimension or batch stride");
    int64_t a = 0, b = 0, r = 0;
    if (__builtin_mul_overflow(g.batch - 1, stride, &a) || __builtin_mul_overflow(rows - 1, ld, &b) || __builtin_add_overflow(a, b, &r) || __builtin_add_overflow(r, cols, &r))
      throw_code(env, "ERR_SHAPE", "GEMM extents overflow 64-bit offsets");
    return r;
  };
  check_range(env, a, g.dtype, ao, extent(g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.stride_a));
  check_range(env, b, g.dtype, bo, extent(g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.stride_b));
  check_range(env, c, g.dtype, co, extent(g.m, g.n, g.ldc, g.stride_c));
  g.a = at(a, g.dtype, ao); g.b = at(b, g.dtype, bo); g.c = at(c, g.dtype, co);
  const Backend& be = backend_for(env, a->device);
  bool reference = info.Length() > 21 && info[21].ToBoolean();
  g.tf32 = info.Length() > 22 && info[22].ToBoolean();
  if (reference) {
    if (a->device != Device::cpu) throw_code(env, "ERR_DEVICE", "the reference GEMM runs on the CPU only");
    check(env, cpu::gemm_ref(g));
  } else {
    check(env, kernel(env, be, be.gemm, "gemm")(g));
  }
  return env.Undefined();
}

// ---- info --------------------------------------------------------------------------------------

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Backend& b = backend_for(env, device_arg(info, 0));
  check(env, b.synchronize());
  return env.Undefined();
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpuBuffers", Napi::Number::New(env, static_cast<double>(g_live_buffers[0].load())));
  o.Set("cpuBytes", Napi::Number::New(env, static_cast<double>(g_live_bytes[0].load())));
  o.Set("cudaBuffers", Napi::Number::New(env, static_cast<double>(g_live_buffers[1].load())));
  o.Set("cudaBytes", Napi::Number::New(env, static_cast<double>(g_live_bytes[1].load())));
  return o;
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cuda_compiled() && cuda_device_count() > 0);
}
// The NVIDIA driver as cuda_driver_probe() sees it (any build): the loader's "why not the CUDA package".
Napi::Value CudaDriver(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaDriverProbe& p = cuda_driver_probe();
  Napi::Object o = Napi::Object::New(env);
  o.Set("loaded", Napi::Boolean::New(env, p.loaded));
  o.Set("library", p.loaded ? Napi::Value(Napi::String::New(env, p.library)) : env.Null());
  o.Set("error", p.error[0] ? Napi::Value(Napi::String::New(env, p.error)) : env.Null());
  o.Set("initResult", Napi::Number::New(env, p.init_result));
  o.Set("initError", p.init_error[0] ? Napi::Value(Napi::String::New(env, p.init_error)) : env.Null());
  o.Set("driverVersion", Napi::Number::New(env, p.driver_version));
  o.Set("deviceCount", Napi::Number::New(env, p.device_count));
  return o;
}
Napi::Value CudaCompiled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cuda_compiled()); }
Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cuda_device_count()); }
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t allocated = 0, cached = 0, free_b = 0, total = 0;
  check(env, cuda_memory_info(&allocated, &cached, &free_b, &total));
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocatedBytes", Napi::Number::New(env, static_cast<double>(allocated)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(cached)));
  o.Set("freeBytes", Napi::Number::New(env, static_cast<double>(free_b)));
  o.Set("totalBytes", Napi::Number::New(env, static_cast<double>(total)));
  return o;
}
Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
  check(info.Env(), cuda_empty_cache());
  return info.Env().Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cpu::num_threads()); }
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int64_t n = int_arg(info, 0);
  if (n < 1 || n > 256) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "thread count must be in [1, 256]");
  cpu::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  o.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2")));
  o.Set("fma", Napi::Boolean::New(env, __builtin_cpu_supports("fma")));
  o.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f")));
#else
  o.Set("avx2", Napi::Boolean::New(env, false));
  o.Set("fma", Napi::Boolean::New(env, false));
  o.Set("avx512f", Napi::Boolean::New(env, false));
#endif
#if defined(__aarch64__)
  o.Set("neon", Napi::Boolean::New(env, true));  // part of the aarch64 base ISA
#else
  o.Set("neon", Napi::Boolean::New(env, false));
#endif
  // The GEMM micro-kernel this process runs (native/cpu/gemm.cc): "avx2", "neon" or "portable".
  o.Set("gemmKernel", Napi::String::New(env, cpu::gemm_kernel_name()));
  // The direct path of small float32 products: its bound (0: off) and how many it has run.
  const cpu::GemmDirectInfo d = cpu::gemm_direct_info();
  o.Set("gemmDirectMaxWork", Napi::Number::New(env, static_cast<double>(d.max_work)));
  o.Set("gemmDirectCalls", Napi::Number::New(env, static_cast<double>(d.calls)));
  o.Set("physicalCores", Napi::Number::New(env, cpu::physical_cores()));
  return o;
}

// The external-BLAS seam (native/cpu/blas.cc): the library in use for large CPU products, if any.
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cpu::BlasInfo b = cpu::blas_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("library", b.library.empty() ? env.Null() : Napi::String::New(env, b.library));
  o.Set("error", b.error.empty() ? env.Null() : Napi::String::New(env, b.error));
  o.Set("calls", Napi::Number::New(env, static_cast<double>(b.calls)));
  o.Set("minWork", Napi::Number::New(env, static_cast<double>(b.min_work)));
  o.Set("minK", Napi::Number::New(env, static_cast<double>(b.min_k)));
  o.Set("minM", Napi::Number::New(env, static_cast<double>(b.min_m)));
  return o;
}

// ---- fused training kernels: batchnorm and optimizer steps (native/cpu/batchnorm.cc, optim.cc) --
// Semantics, the optimizers' named host scalars and flags are documented on BatchNormArgs /
// OptimArgs in core/backend.h.

// A per-channel array argument: null/undefined → nullptr, else a handle holding `c` elements at
// offset 0, on `dev`.
void* channel_arg(const Napi::CallbackInfo& info, size_t i, DType dt, int64_t c, Device dev) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  Storage* s = storage_arg(info, i);
  if (s->device != dev) throw_code(info.Env(), "ERR_DEVICE", "operands are on different devices (cpu and cuda)");
  check_range(info.Env(), s, dt, 0, c);
  return s->data;
}

struct BnShape { DType dt; int64_t n, c, l, total; };

// Arguments 0–3 of both batch norm calls: dtype, n, c, l; fills them into *a.
BnShape bn_shape(const Napi::CallbackInfo& info, BatchNormArgs* a) {
  BnShape s{dtype_arg(info, 0), int_arg(info, 1), int_arg(info, 2), int_arg(info, 3), 0};
  if (s.dt != DType::f32 && s.dt != DType::f64)
    throw_code(info.Env(), "ERR_DTYPE", std::string("batch norm needs float32 or float64, got ") + dtype_name(s.dt));
  if (s.n < 0 || s.c < 0 || s.l < 0) throw_code(info.Env(), "ERR_SHAPE", "negative batch norm extent");
  s.total = mul_checked(info.Env(), {s.n, s.c, s.l});
  a->dtype = s.dt; a->n = s.n; a->c = s.c; a->l = s.l;
  return s;
}

// A whole [n, c, l] operand: the handle at argument i and its element offset at i + 1, on the
// device of `like` (any device when like is null). Stores the storage in *out when asked.
void* bn_operand(const Napi::CallbackInfo& info, size_t i, const BnShape& sh, Storage* like, Storage** out = nullptr) {
  Storage* s = storage_arg(info, i);
  if (like) require_same_device(info.Env(), {like, s});
  const int64_t off = int_arg(info, i + 1);
  check_range(info.Env(), s, sh.dt, off, sh.total);
  if (out) *out = s;
  return at(s, sh.dt, off);
}

// Per-channel arguments first, first + 1, ... into *dst...: each null or `c` elements on `dev`.
template <typename... P>
void channel_args(const Napi::CallbackInfo& info, size_t first, const BnShape& sh, Device dev, P*... dst) {
  size_t i = first;
  ((*dst = channel_arg(info, i++, sh.dt, sh.c, dev)), ...);
}

// batchnormForward(dtype, n, c, l, eps, momentum, training, x, xOff, y, yOff, weight|null,
//                  bias|null, runningMean|null, runningVar|null, saveMean|null, saveInvstd|null)
Napi::Value BatchnormForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchNormArgs a{};
  const BnShape sh = bn_shape(info, &a);
  a.eps = num_arg(info, 4);
  a.momentum = num_arg(info, 5);
  a.training = info[6].ToBoolean();
  Storage* x = nullptr;
  a.x = bn_operand(info, 7, sh, nullptr, &x);
  a.y = bn_operand(info, 9, sh, x);
  channel_args(info, 11, sh, x->device, &a.weight, &a.bias, &a.running_mean, &a.running_var, &a.save_mean, &a.save_invstd);
  if (!a.training && (!a.running_mean || !a.running_var))
    throw_code(env, "ERR_INVALID_ARGUMENT", "batchnormForward: evaluation mode needs runningMean and runningVar");
  if ((a.running_mean == nullptr) != (a.running_var == nullptr))
    throw_code(env, "ERR_INVALID_ARGUMENT", "batchnormForward: runningMean and runningVar must be given together");
  const Backend& b = backend_for(env, x->device);
  check(env, kernel(env, b, b.batchnorm_forward, "batchnorm_forward")(a));
  return env.Undefined();
}

// batchnormBackward(dtype, n, c, l, eps, training, x, xOff, dy, dyOff, weight|null, saveMean|null,
//                   saveInvstd|null, runningMean|null, runningVar|null, dx|null, dxOff,
//                   dweight|null, dbias|null)
Napi::Value BatchnormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchNormArgs a{};
  const BnShape sh = bn_shape(info, &a);
  a.eps = num_arg(info, 4);
  a.training = info[5].ToBoolean();
  Storage* x = nullptr;
  a.x = bn_operand(info, 6, sh, nullptr, &x);
  a.dy = bn_operand(info, 8, sh, x);
  channel_args(info, 10, sh, x->device, &a.weight, &a.save_mean, &a.save_invstd, &a.running_mean, &a.running_var);
  if (!info[15].IsNull() && !info[15].IsUndefined()) a.dx = bn_operand(info, 15, sh, x);
  channel_args(info, 17, sh, x->device, &a.dweight, &a.dbias);
  if (a.training && (!a.save_mean || !a.save_invstd))
    throw_code(env, "ERR_INVALID_ARGUMENT", "batchnormBackward: training mode needs saveMean and saveInvstd from the forward pass");
  if (!a.training && (!a.running_mean || !a.running_var))
    throw_code(env, "ERR_INVALID_ARGUMENT", "batchnormBackward: evaluation mode needs runningMean and runningVar");
  const Backend& b = backend_for(env, x->device);
  check(env, kernel(env, b, b.batchnorm_backward, "batchnorm_backward")(a));
  return env.Undefined();
}

// optimStep(kind, dtype, params, grads, state0|null, state1|null, state2|null, sizes, h, flags)
//   params, grads: arrays of handles (tensor i's data at element offset 0); state0..2: null, or
//   arrays of the same length whose entries are handles or null (entries the kind/flags need
//   must be handles); sizes: element counts; h: a Float64Array of kOptimScalarSlots host scalars,
//   the kind's named scalars at the slots of ENTRENA_OPTIM_SCALARS_<kind> (core/backend.h).
// Every handle must be live and on one device and hold sizes[i] elements of `dtype`.
Napi::Value OptimStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t kind = int_arg(info, 0);
  if (!optim_kind_valid(kind)) throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: unknown optimizer kind " + std::to_string(kind));
  DType dt = dtype_arg(info, 1);
  if (dt != DType::f32 && dt != DType::f64)
    throw_code(env, "ERR_DTYPE", std::string("optimStep: parameters must be float32 or float64, got ") + dtype_name(dt));
  auto array_at = [&](size_t i, const char* name) -> Napi::Array {
    if (!info[i].IsArray()) throw_code(env, "ERR_INVALID_ARGUMENT", std::string("optimStep: ") + name + " must be an array");
    return info[i].As<Napi::Array>();
  };
  Napi::Array params = array_at(2, "params"), grads = array_at(3, "grads"), sizes_arr = array_at(7, "sizes");
  const uint32_t count = params.Length();
  if (grads.Length() != count || sizes_arr.Length() != count)
    throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: params (" + std::to_string(count) + "), grads (" + std::to_string(grads.Length()) +
                                                ") and sizes (" + std::to_string(sizes_arr.Length()) + ") must have the same length");
  if (!info[8].IsTypedArray() || info[8].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[8].As<Napi::Float64Array>().ElementLength() < static_cast<size_t>(kOptimScalarSlots))
    throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: h must be a Float64Array of " + std::to_string(kOptimScalarSlots) + " scalars");
  OptimArgs a{};
  a.kind = static_cast<OptimKind>(kind);
  a.dtype = dt;
  a.count = count;
  Napi::Float64Array h = info[8].As<Napi::Float64Array>();
  for (int k = 0; k < kOptimScalarSlots; ++k) a.h[k] = h[k];
  a.flags = static_cast<int32_t>(int_arg(info, 9));
  const int used = optim_states_used(a.kind, a.flags, a.h);

  std::vector<int64_t> sizes(count);
  std::vector<void*> param_ptrs(count), grad_ptrs(count), state_ptrs[3];
  bool has_state[3] = {false, false, false};
  Device dev = Device::cpu;
  bool dev_set = false;
  auto handle = [&](Napi::Value v, const std::string& what, int64_t n) -> void* {
    if (!v.IsExternal()) throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: " + what + " is not a tensor buffer handle");
    Storage* s = v.As<Napi::External<Storage>>().Data();
    if (!s || s->magic != kStorageMagic) throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: " + what + " is not an entrena buffer");
    if (s->freed) throw_code(env, "ERR_DISPOSED", "optimStep: the memory of " + what + " has been disposed");
    if (!dev_set) { dev = s->device; dev_set = true; }
    else if (s->device != dev) throw_code(env, "ERR_DEVICE", "optimStep: " + what + " is on a different device from params[0] (cpu and cuda)");
    if (static_cast<uint64_t>(n) * dtype_size(dt) > s->bytes)
      throw_code(env, "ERR_INDEX", "optimStep: " + what + " holds " + std::to_string(s->bytes) + " bytes, fewer than its " +
                                       std::to_string(n) + " " + dtype_name(dt) + " elements");
    return s->data;
  };
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value sv = sizes_arr.Get(i);
    double d = sv.IsNumber() ? sv.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != std::floor(d))
      throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: sizes[" + std::to_string(i) + "] must be a non-negative integer");
    sizes[i] = static_cast<int64_t>(d);
    param_ptrs[i] = handle(params.Get(i), "params[" + std::to_string(i) + "]", sizes[i]);
    grad_ptrs[i] = handle(grads.Get(i), "grads[" + std::to_string(i) + "]", sizes[i]);
  }
  for (int k = 0; k < 3; ++k) {
    Napi::Value v = info[4 + k];
    const std::string name = "state" + std::to_string(k);
    if (v.IsNull() || v.IsUndefined()) {
      if ((used >> k & 1) && count > 0)
        throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: this optimizer configuration needs " + name + " (" +
                                                    optim_state_name(a.kind, k) + "), got null");
      continue;
    }
    if (!v.IsArray()) throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: " + name + " must be an array or null");
    Napi::Array arr = v.As<Napi::Array>();
    if (arr.Length() != count)
      throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: " + name + " has " + std::to_string(arr.Length()) + " entries, params has " +
                                                  std::to_string(count));
    has_state[k] = true;
    state_ptrs[k].resize(count, nullptr);
    for (uint32_t i = 0; i < count; ++i) {
      Napi::Value e = arr.Get(i);
      const std::string what = name + "[" + std::to_string(i) + "]";
      if (e.IsNull() || e.IsUndefined()) {
        if ((used >> k & 1) && sizes[i] > 0)
          throw_code(env, "ERR_INVALID_ARGUMENT", "optimStep: this optimizer configuration needs " + what + " (" +
                                                      optim_state_name(a.kind, k) + "), got null");
        continue;
      }
      state_ptrs[k][i] = handle(e, what, sizes[i]);
    }
  }
  if (count == 0) return env.Undefined();
  a.param = param_ptrs.data();
  a.grad = const_cast<const void* const*>(grad_ptrs.data());
  a.state0 = has_state[0] ? state_ptrs[0].data() : nullptr;
  a.state1 = has_state[1] ? state_ptrs[1].data() : nullptr;
  a.state2 = has_state[2] ? state_ptrs[2].data() : nullptr;
  a.sizes = sizes.data();
  const Backend& b = backend_for(env, dev);
  check(env, kernel(env, b, b.optim_step, "optim_step")(a));
  return env.Undefined();
}


// ---- distributed: collectives through the communication thread (native/distributed/comm.h) ---
// The thread-safe function that carries completions to JavaScript. Process-wide (MPI is), created
// by the environment that initialises, never freed (the communication thread may still hold it).
Napi::ThreadSafeFunction* g_dist_tsfn = nullptr;

void dist_notifier(void* ctx, uint64_t id) {
  auto* tsfn = static_cast<Napi::ThreadSafeFunction*>(ctx);
  uint64_t* boxed = new uint64_t(id);
  napi_status st = tsfn->NonBlockingCall(boxed, [](Napi::Env env, Napi::Function cb, uint64_t* data) {
    const uint64_t done_id = *data;
    delete data;
    if (env == nullptr) return;
    AddonData* d = data_of(env);
    if (!d || d->dist_notify.erase(done_id) == 0) return;  // waited synchronously, nobody listens
    if (--d->dist_refs == 0) g_dist_tsfn->Unref(env);
    cb.Call({Napi::Number::New(env, static_cast<double>(done_id))});
  });
  if (st != napi_ok) delete boxed;
}

std::string string_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// distInit(useMpi, mpiLib, ncclLib, timeoutMs, onComplete(id), verify) → { rank, size, threadLevel, library }
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  dist::InitOptions o;
  o.use_mpi = info[0].ToBoolean();
  o.mpi_lib = string_arg(info, 1);
  o.nccl_lib = string_arg(info, 2);
  o.timeout_ms = int_arg(info, 3);
  o.verify = info.Length() < 6 || info[5].ToBoolean();
  if (!info[4].IsFunction()) throw_code(env, "ERR_INVALID_ARGUMENT", "distInit: onComplete must be a function");
  dist::InitResult r;
  check(env, dist::init(o, &r));
  g_dist_tsfn = new Napi::ThreadSafeFunction(Napi::ThreadSafeFunction::New(env, info[4].As<Napi::Function>(), "entrena.distributed", 0, 1));
  g_dist_tsfn->Unref(env);  // only pending awaited requests keep the event loop alive
  dist::set_notifier(dist_notifier, g_dist_tsfn);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", Napi::Number::New(env, r.rank));
  out.Set("size", Napi::Number::New(env, r.size));
  out.Set("threadLevel", Napi::Number::New(env, r.thread_level));
  out.Set("library", Napi::String::New(env, r.library));
  return out;
}

// A collective's arguments (kind, op, root, dtype, data|null, dataOff, count, out|null, outOff, what):
//   kind: dist::Collective; op: dist::ReduceOp; offsets and count in elements; all_gather writes
//   worldSize · count elements into out.
dist::Request dist_request(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  const int64_t kind = int_arg(info, 0), op = int_arg(info, 1);
  if (kind < 0 || kind > static_cast<int64_t>(dist::Collective::barrier)) throw_code(env, "ERR_INVALID_ARGUMENT", std::string(fn) + ": unknown collective");
  if (op < 0 || op > static_cast<int64_t>(dist::ReduceOp::min)) throw_code(env, "ERR_INVALID_ARGUMENT", std::string(fn) + ": unknown reduction");
  dist::Request r;
  r.kind = static_cast<dist::Collective>(kind);
  r.op = static_cast<dist::ReduceOp>(op);
  const int64_t root = int_arg(info, 2);
  if (root < 0 || root > INT32_MAX) throw_code(env, "ERR_INVALID_ARGUMENT", std::string(fn) + ": bad root");
  r.root = static_cast<int>(root);
  r.dtype = dtype_arg(info, 3);
  if (r.kind == dist::Collective::all_reduce && (r.dtype == DType::bf16 || r.dtype == DType::f16))
    throw_code(env, "ERR_DTYPE", std::string(fn) + ": no native all-reduce of " + dtype_name(r.dtype) + " (reduce a float32 copy)");
  r.count = int_arg(info, 6);
  if (r.count < 0) throw_code(env, "ERR_INVALID_ARGUMENT", std::string(fn) + ": negative count");
  if (r.kind != dist::Collective::barrier) {
    Storage* data = storage_arg(info, 4);
    const int64_t off = int_arg(info, 5);
    check_range(env, data, r.dtype, off, r.count);
    r.device = data->device;
    r.data = at(data, r.dtype, off);
    if (r.kind == dist::Collective::all_gather) {
      Storage* out = storage_arg(info, 7);
      require_same_device(env, {data, out});
      const int64_t out_off = int_arg(info, 8);
      check_range(env, out, r.dtype, out_off, mul_checked(env, {r.count, static_cast<int64_t>(dist::world_size())}));
      r.out = at(out, r.dtype, out_off);
    }
  }
  r.what = string_arg(info, 9);
  return r;
}

// A failed collective's error: ERR_DISTRIBUTED for what MPI or NCCL reported, else the status's code.
void throw_dist(Napi::Env env, Status s, const std::string& message) {
  throw_code(env, s == Status::internal ? "ERR_DISTRIBUTED" : status_code_name(s), message);
}

// distSubmit(<the collective's arguments>, notify) → id. The caller keeps the buffers alive until
// completion.
Napi::Value DistSubmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dist::Request r = dist_request(info, "distSubmit");
  uint64_t id = 0;
  check(env, dist::submit(r, &id));
  if (info[10].ToBoolean()) {
    AddonData* d = data_of(env);
    d->dist_notify.insert(id);
    if (d->dist_refs++ == 0 && g_dist_tsfn) g_dist_tsfn->Ref(env);
  }
  return Napi::Number::New(env, static_cast<double>(id));
}

// distRun(<the collective's arguments>): runs it to completion (dist::run); throws its error.
Napi::Value DistRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dist::Request r = dist_request(info, "distRun");
  std::string message;
  const Status s = dist::run(r, &message);
  if (s != Status::ok) throw_dist(env, s, message);
  return env.Undefined();
}

uint64_t id_arg(const Napi::CallbackInfo& info, size_t i) {
  const int64_t id = int_arg(info, i);
  if (id <= 0) throw_code(info.Env(), "ERR_INVALID_ARGUMENT", "not a request id");
  return static_cast<uint64_t>(id);
}

// distWait(id) → true when this call saw the request finish, false when it was already waited;
// throws the request's error (ERR_DISTRIBUTED) when it failed.
Napi::Value DistWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string message;
  bool done_before = false;
  Status s = dist::wait(id_arg(info, 0), &message, &done_before);
  if (s != Status::ok) throw_dist(env, s, message);
  return Napi::Boolean::New(env, !done_before);
}

Napi::Value DistIsDone(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), dist::is_done(id_arg(info, 0))); }

Napi::Value DistFinalize(const Napi::CallbackInfo& info) {
  check(info.Env(), dist::finalize());
  return info.Env().Undefined();
}

// distAbort(code, message): ends the whole job (every rank) now. Does not return.
Napi::Value DistAbort(const Napi::CallbackInfo& info) {
  const int64_t code = int_arg(info, 0);
  dist::abort_job(static_cast<int>(code < 1 || code > 255 ? 1 : code), string_arg(info, 1).c_str());
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("where", Napi::Function::New(env, Where));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("index", Napi::Function::New(env, Index));
  exports.Set("random", Napi::Function::New(env, Random));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable));
  exports.Set("cudaCompiled", Napi::Function::New(env, CudaCompiled));
  exports.Set("cudaDriver", Napi::Function::New(env, CudaDriver));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount));
  exports.Set("cudaMemory", Napi::Function::New(env, CudaMemory));
  exports.Set("cudaEmptyCache", Napi::Function::New(env, CudaEmptyCache));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeatures));
  exports.Set("blasInfo", Napi::Function::New(env, BlasInfo));
  exports.Set("setBlasEnabled", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    cpu::set_blas_enabled(info.Length() > 0 && info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }));
  exports.Set("batchnormForward", Napi::Function::New(env, BatchnormForward));
  exports.Set("batchnormBackward", Napi::Function::New(env, BatchnormBackward));
  exports.Set("optimStep", Napi::Function::New(env, OptimStep));
  exports.Set("distInit", Napi::Function::New(env, DistInit));
  exports.Set("distSubmit", Napi::Function::New(env, DistSubmit));
  exports.Set("distWait", Napi::Function::New(env, DistWait));
  exports.Set("distRun", Napi::Function::New(env, DistRun));
  exports.Set("distIsDone", Napi::Function::New(env, DistIsDone));
  exports.Set("distFinalize", Napi::Function::New(env, DistFinalize));
  exports.Set("distAbort", Napi::Function::New(env, DistAbort));
  return exports;
}

}  // namespace

}  // namespace entrena

static Napi::Object InitEntrena(Napi::Env env, Napi::Object exports) { return entrena::Module(env, exports); }

NODE_API_MODULE(entrena, InitEntrena)
