#!/usr/bin/env bash
# sanitize.sh — builds the CPU addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/ (plain g++, the sources of binding.gyp; node-gyp's build/ is left alone) and runs the
# adversarial boundary script test/stress/native_boundary.mjs under it, one process per section so
# that one report does not hide the next.
#
#   scripts/sanitize.sh              build (if sources changed) and run every section
#   scripts/sanitize.sh api raw      run only these sections
#   scripts/sanitize.sh build-only   build and stop
#   SANITIZE_REBUILD=1 ...           force a rebuild
#   ENTRENA_BOUNDARY_ITERS=20000 ... more iterations per random section (default 4000)
#
# Needs g++ with libasan/libubsan, node headers (/usr/include/node or node-gyp's cache) and a
# compiled dist/ (npx tsc -p tsconfig.json). Node itself is not instrumented, so libasan is
# LD_PRELOADed; leak detection is off (V8 keeps memory until exit by design).
# Exit status: 0 when every section printed OK with no sanitizer report, 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/build-asan"
ADDON="$OUT/entrena.node"
CXX="${CXX:-g++}"
cd "$ROOT"

[ -f dist/index.js ] || { echo "sanitize: dist/ is missing; run npx tsc -p tsconfig.json first" >&2; exit 2; }

# ---- build -------------------------------------------------------------------------------------
# binding.gyp is a Python literal with # comments: drop them, then read it as JavaScript.
SOURCES=$(node -e "const t=require('fs').readFileSync('binding.gyp','utf8').replace(/^\\s*#.*$/gm,''); console.log(eval('('+t+')').targets[0].sources.join(' '))")
[ -n "$SOURCES" ] || { echo "sanitize: could not read the sources from binding.gyp" >&2; exit 2; }
NODE_INC=""
for d in "$(dirname "$(dirname "$(command -v node)")")/include/node" /usr/include/node "$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node"; do
  [ -f "$d/node_api.h" ] && { NODE_INC="$d"; break; }
done
[ -n "$NODE_INC" ] || { echo "sanitize: node headers (node_api.h) not found" >&2; exit 2; }
NAPI_INC=$(node -p "require('node-addon-api').include_dir")

SAN="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=address"
CXXFLAGS_ASAN="-std=c++17 -O1 -g -fPIC -pthread -fexceptions -fno-math-errno $SAN \
  -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=entrena \
  -I$NODE_INC -I$ROOT/$NAPI_INC -I$ROOT/node_modules/node-addon-api"

mkdir -p "$OUT/obj"
# The folder ignores itself (it is not in the project's .gitignore).
[ -f "$OUT/.gitignore" ] || echo '*' > "$OUT/.gitignore"

needs_build=${SANITIZE_REBUILD:-0}
[ -f "$ADDON" ] || needs_build=1
if [ "$needs_build" != 1 ]; then
  for s in $SOURCES native/*/*.h native/*/*.cc; do [ "$s" -nt "$ADDON" ] && { needs_build=1; break; }; done
fi
if [ "$needs_build" = 1 ]; then
  echo "sanitize: building $ADDON with $SAN"
  objs=()
  pids=()
  for s in $SOURCES; do
    o="$OUT/obj/$(echo "$s" | tr '/' '_' | sed 's/\.cc$/.o/')"
    objs+=("$o")
    $CXX $CXXFLAGS_ASAN -c "$s" -o "$o" &
    pids+=($!)
    # At most $(nproc) compilers at once.
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do sleep 0.2; done
  done
  fail=0
  for p in "${pids[@]}"; do wait "$p" || fail=1; done
  [ $fail = 0 ] || { echo "sanitize: compilation failed" >&2; exit 2; }
  $CXX -shared -pthread $SAN -o "$ADDON" "${objs[@]}" || { echo "sanitize: link failed" >&2; exit 2; }
fi

# ---- run -----------------------------------------------------------------------------------------
LIBASAN=$($CXX -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "sanitize: libasan.so not found ($LIBASAN)" >&2; exit 2; }

SECTIONS=("$@")
# 'build-only': build (above) and stop.
[ "${SECTIONS[0]:-}" = build-only ] && { echo "sanitize: built $ADDON"; exit 0; }
[ ${#SECTIONS[@]} -gt 0 ] || mapfile -t SECTIONS < <(ENTRENA_ADDON="$ADDON" LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0 node test/stress/native_boundary.mjs list)

status=0
for sec in "${SECTIONS[@]}"; do
  log="$OUT/$(echo "$sec" | tr ':' '_').log"
  ENTRENA_ADDON="$ADDON" LD_PRELOAD="$LIBASAN" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:allocator_may_return_null=1:handle_segv=1" \
    UBSAN_OPTIONS="print_stacktrace=1" \
    timeout "${SANITIZE_TIMEOUT:-300}" node test/stress/native_boundary.mjs "$sec" > "$log" 2>&1
  rc=$?
  report=$(grep -m1 -E "ERROR: AddressSanitizer|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)" "$log")
  last=$(grep -E "^(OK|FAIL) " "$log" | tail -1)
  if [ $rc = 0 ] && [ -z "$report" ] && [ -n "$last" ]; then
    echo "PASS $sec: $last"
  else
    status=1
    echo "FAIL $sec (exit $rc): ${report:-${last:-no result line}}"
    grep -m1 -A12 -E "ERROR: AddressSanitizer|runtime error:" "$log" | grep -E "runtime error|ERROR|#[0-9] .*(entrena|native/)" | head -6 | sed 's/^/    /'
    echo "    log: $log"
  fi
done
exit $status
