// distributed.test.mjs — the collectives on CUDA memory through NCCL, in a world of one process
// (no MPI needed: the NCCL unique id stays in the process), through the raw addon: NCCL is loaded
// with dlopen, its communicator created on the communication thread, and each collective queued on
// the library's CUDA stream behind the kernels that wrote its input. In a world of one every
// reduction is the identity, so the checks are that the values come back unchanged through NCCL,
// for every dtype and op and sizes 0, 1 and odd, that allGather copies, and that an awaited
// request is reported through the thread-safe function. Skips, saying why, without a GPU (or
// without libnccl.so.2). Multi-rank NCCL runs go through mpirun like the MPI suite.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { addon, skipReason, CUDA, F32, F64, I32, NAME, upload, download, randomArray } from '../helpers/cuda_addon.mjs';

const COLLECTIVE = { allReduce: 0, broadcast: 1, allGather: 2, barrier: 3 };
const OP = { sum: 0, avg: 1, max: 2, min: 3 };

function ncclMissing() {
  const explicit = process.env.ENTRENA_NCCL_LIB;
  if (explicit) return fs.existsSync(explicit) ? null : `ENTRENA_NCCL_LIB=${explicit} does not exist`;
  try {
    if (/libnccl\.so\.2\b/.test(execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }))) return null;
  } catch { /* no ldconfig: try the load itself */ return null; }
  return 'NCCL is not installed (libnccl.so.2 not found by ldconfig; install libnccl2 or set ENTRENA_NCCL_LIB)';
}
const why = skipReason ?? (addon && !addon.distInit ? 'this build of the addon has no collectives' : null) ?? ncclMissing();

function ncclTest(name, fn) {
  test(name, (t) => {
    if (why) {
      t.skip(why);
      return;
    }
    return fn(t);
  });
}

let world = null;
const completed = [];
function init() {
  if (!world) world = addon.distInit(false, '', process.env.ENTRENA_NCCL_LIB ?? '', 60_000, (id) => completed.push(id));
  return world;
}

ncclTest('a world of one initialises without MPI', () => {
  const w = init();
  assert.equal(w.rank, 0);
  assert.equal(w.size, 1);
  assert.equal(w.library, 'none');
});

for (const dtype of [F32, F64, I32]) {
  for (const n of [0, 1, 1001]) {
    ncclTest(`allReduce through NCCL returns the input unchanged in a world of one: ${NAME[dtype]} [${n}], every op`, () => {
      init();
      const host = randomArray(dtype, n, 7 + n);
      for (const op of Object.keys(OP)) {
        const h = upload(CUDA, host);
        const id = addon.distSubmit(COLLECTIVE.allReduce, OP[op], 0, dtype, h, 0, n, null, 0, `${NAME[dtype]} [${n}]`, false);
        assert.equal(addon.distWait(id), true);
        assert.deepEqual(download(h, dtype, n), host, `${op}`);
        addon.free(h);
      }
    });

    ncclTest(`broadcast and allGather through NCCL: ${NAME[dtype]} [${n}]`, () => {
      init();
      const host = randomArray(dtype, n, 11 + n);
      const h = upload(CUDA, host), out = addon.alloc(CUDA, Math.max(4, host.byteLength));
      addon.distWait(addon.distSubmit(COLLECTIVE.broadcast, 0, 0, dtype, h, 0, n, null, 0, 'bcast', false));
      assert.deepEqual(download(h, dtype, n), host);
      addon.distWait(addon.distSubmit(COLLECTIVE.allGather, 0, 0, dtype, h, 0, n, out, 0, 'gather', false));
      assert.deepEqual(download(out, dtype, n), host);
      addon.free(h);
      addon.free(out);
    });
  }
}

ncclTest('an awaited request is reported through the thread-safe function', async () => {
  init();
  const host = randomArray(F32, 4096, 3);
  const h = upload(CUDA, host);
  const id = addon.distSubmit(COLLECTIVE.allReduce, OP.max, 0, F32, h, 0, host.length, null, 0, 'float32 [4096]', true);
  const deadline = Date.now() + 30_000;
  while (!completed.includes(id)) {
    assert.ok(Date.now() < deadline, 'no completion callback within 30 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(addon.distWait(id), true);
  assert.deepEqual(download(h, F32, host.length), host);
  addon.free(h);
});

ncclTest('a view past its buffer is refused before anything is queued', () => {
  init();
  const h = upload(CUDA, new Float32Array(8));
  assert.throws(() => addon.distSubmit(COLLECTIVE.allReduce, OP.sum, 0, F32, h, 4, 8, null, 0, 'x', false), (e) => e.code === 'ERR_INDEX');
  addon.free(h);
  addon.distFinalize();
});
