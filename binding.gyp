# node-gyp build of the CPU-only addon: the default build of a fresh clone (no CUDA, no cmake).
# No -march=native: the binary must run on any x86-64; AVX2/FMA kernels are compiled per function
# with target attributes and chosen at run time from CPUID (native/cpu/gemm.cc).
# -fno-math-errno and -fno-trapping-math change no result: the first lets sqrt/exp skip errno, the
# second lets the compiler vectorise the elementwise functors whose branches compute (dropout's
# mask, leaky ReLU, the clamp gradients: a multiply or a conversion that might trap may otherwise
# not be moved out of a branch; measured: dropout's mask on [128, 512] 140 µs as scalar branches,
# 9 µs vectorised). Nothing in the library reads floating-point exception flags.
{
  "targets": [
    {
      "target_name": "entrena",
      "sources": [
        "native/bindings.cc",
        "native/core/status.cc",
        "native/core/cuda_driver.cc",
        "native/cpu/backend.cc",
        "native/cpu/threads.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/reduce.cc",
        "native/cpu/index.cc",
        "native/cpu/random.cc",
        "native/cpu/gemm_ref.cc",
        "native/cpu/gemm.cc",
        "native/cpu/blas.cc",
        "native/cpu/batchnorm.cc",
        "native/cpu/optim.cc",
        "native/cuda/stub.cc",
        "native/distributed/comm.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-ldl"] }],
        # Accelerate takes the large GEMMs on macOS (native/cpu/blas.cc; ENTRENA_BLAS=off disables).
        ["OS=='mac'", { "defines": ["ENTRENA_ACCELERATE=1"], "libraries": ["-framework Accelerate"] }]
      ],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"] }
    }
  ]
}
