#!/usr/bin/env bash
# gpu_run.sh — runs `npm run gpu:check` on a GPU machine that has neither Node nor npm: unpacks what
# `npm run gpu:pack` put in .device/ (the node binary, the packages the check needs, Node's N-API
# headers for a rebuild, the CUDA build and dist/) where they are missing, then runs scripts/gpu_check.mjs with the arguments given.
#   bash scripts/gpu_run.sh --out DIR [--only bench] [--budget SECONDS]
set -eo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dev="$root/.device"
if ! command -v node >/dev/null 2>&1; then
  [ -f "$dev/node.xz" ] || { echo "gpu_run: no node here and no .device/node.xz (run npm run gpu:pack where Node is)"; exit 1; }
  bin=${TMPDIR:-/tmp}/entrena-node
  if [ ! -x "$bin/node" ]; then mkdir -p "$bin"; xz -dc "$dev/node.xz" > "$bin/node"; chmod +x "$bin/node"; fi
  export PATH="$bin:$PATH"
fi
if [ ! -f node_modules/vitest/vitest.mjs ]; then
  [ -f "$dev/node_modules.tar.xz" ] || { echo "gpu_run: node_modules is missing and so is .device/node_modules.tar.xz"; exit 1; }
  tar -xJf "$dev/node_modules.tar.xz"
fi
if [ ! -f build-cuda/Release/entrena.node ] || [ ! -f dist/index.js ]; then
  [ -f "$dev/build.tar.xz" ] || { echo "gpu_run: the CUDA build or dist/ is missing and so is .device/build.tar.xz"; exit 1; }
  tar -xJf "$dev/build.tar.xz"
fi
[ -f "$dev/include/node/node_api.h" ] || { [ -f "$dev/node-include.tar.xz" ] && tar -xJf "$dev/node-include.tar.xz" -C "$dev"; } || true
echo "node $(node --version); $(nproc) CPUs"
exec node scripts/gpu_check.mjs "$@"
