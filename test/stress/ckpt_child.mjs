// ckpt_child.mjs — the child processes of the checkpoint durability tests (plain node on dist/).
//
//   node ckpt_child.mjs writer <path> [params]   saves checkpoint after checkpoint, forever: every
//                                                parameter and Adam moment of checkpoint i is a
//                                                known function of i; prints "saved <i>" after each
//   node ckpt_child.mjs verify <path>            loads it, checks every value against its epoch's
//                                                known values, prints "intact <epoch>" or "BAD ..."
//   node ckpt_child.mjs train <dir> full|crash|resume <epochs> [crashEpoch crashBatch]
//       full:   trains <epochs> epochs uninterrupted, writes <dir>/final.bin (raw weight bytes)
//       crash:  trains with a checkpoint each epoch and SIGKILLs itself at (crashEpoch, crashBatch)
//       resume: loads <dir>/ckpt.safetensors (model, optimizer, scheduler, RNG, history), sets the
//               DataLoader's epoch, finishes the run, writes <dir>/final.bin
//   node ckpt_child.mjs bigwrite <path> <params>  one checkpoint of a Linear(params, 1) model
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const E = await import(new URL('../../dist/index.js', import.meta.url).href);
const [mode, target, ...rest] = process.argv.slice(2);

// ---- writer / verify ------------------------------------------------------------------------------

// Linear(256, 256) + Adam state: ~790 KB per checkpoint, so a kill often lands mid-write.
const width = Number(rest[0] ?? 256);
function makeWriterModel() {
  const model = new E.nn.Sequential(new E.nn.Linear(width, width), new E.nn.Linear(width, 4));
  const opt = new E.optim.Adam(model.parameters(), { lr: 1e-3 });
  return { model, opt };
}
const valueOf = (epoch, k, j) => epoch * 1000 + k * 10 + (j % 7); // exactly representable in float32

function setKnown(model, opt, epoch) {
  if (epoch === 1) {
    // One step creates the Adam state; its values (and the parameters) are overwritten below.
    for (const p of model.parameters()) p.grad = E.full(p.shape, 1);
    opt.step();
  }
  model.parameters().forEach((p, k) => {
    const v = new Float32Array(p.size);
    for (let j = 0; j < v.length; j++) v[j] = valueOf(epoch, k, j);
    const src = E.tensor(v, { shape: p.shape });
    p.copy_(src);
    src.dispose();
  });
  for (const [k, p] of model.parameters().entries()) {
    const st = opt.state.get(p);
    if (st?.expAvg) st.expAvg.fill_(epoch + k);
    if (st?.expAvgSq) st.expAvgSq.fill_(epoch * 2 + k);
  }
}

if (mode === 'writer') {
  const { model, opt } = makeWriterModel();
  for (let epoch = 1; ; epoch++) {
    setKnown(model, opt, epoch);
    E.io.saveCheckpoint({ model, optimizer: opt, epoch, extra: { marker: `epoch-${epoch}` } }, target);
    process.stdout.write(`saved ${epoch}\n`);
  }
}

if (mode === 'verify') {
  const { model, opt } = makeWriterModel();
  let r;
  try {
    r = E.io.loadCheckpoint(target, { model, optimizer: opt });
  } catch (e) {
    console.log(`BAD load failed: ${e?.code} ${e?.message}`);
    process.exit(1);
  }
  const bad = [];
  if (r.extra?.marker !== `epoch-${r.epoch}`) bad.push(`extra ${JSON.stringify(r.extra)}`);
  model.parameters().forEach((p, k) => {
    const d = p.data();
    for (let j = 0; j < d.length; j++) if (d[j] !== valueOf(r.epoch, k, j)) { bad.push(`param ${k}[${j}] = ${d[j]}`); break; }
    const st = opt.state.get(p);
    if (!st || !st.expAvg) { bad.push(`no Adam state for param ${k}`); return; }
    if (st.expAvg.data().some((v) => v !== r.epoch + k)) bad.push(`expAvg ${k}`);
    if (st.expAvgSq.data().some((v) => v !== r.epoch * 2 + k)) bad.push(`expAvgSq ${k}`);
  });
  console.log(bad.length ? `BAD epoch ${r.epoch}: ${bad.slice(0, 3).join('; ')}` : `intact ${r.epoch}`);
  process.exit(bad.length ? 1 : 0);
}

if (mode === 'bigwrite') {
  const n = Number(rest[0]);
  const model = new E.nn.Linear(n, 1);
  E.io.saveCheckpoint({ model, epoch: 2 }, target);
  console.log('written');
}

// ---- train: resume bit for bit --------------------------------------------------------------------

if (mode === 'train') {
  const dir = target;
  const [kind, epochsArg, crashEpoch, crashBatch] = rest;
  const epochs = Number(epochsArg);
  const ckpt = join(dir, 'ckpt.safetensors');
  E.manualSeed(1234);
  // Data and model are made from the seed, identically in every mode.
  const x = E.randn([96, 6]);
  const y = E.randint(0, 3, [96]);
  const model = new E.nn.Sequential(new E.nn.Linear(6, 16), new E.nn.ReLU(), new E.nn.Dropout(0.2), new E.nn.Linear(16, 3));
  const optimizer = new E.optim.Adam(model.parameters(), { lr: 0.01 });
  const scheduler = new E.optim.lrScheduler.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
  const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 10, shuffle: true, seed: 7 });
  const loss = new E.nn.CrossEntropyLoss();
  let initialEpoch = 0;
  let history;
  // A run killed before its first checkpoint starts over, as a real job would.
  if (kind === 'resume' && existsSync(ckpt)) {
    const r = E.io.loadCheckpoint(ckpt, { model, optimizer, scheduler });
    initialEpoch = r.epoch + 1;
    history = r.history;
    loader.setEpoch(r.extra.loaderEpoch);
  }
  const checkpointing = {
    onEpochEnd(log, ctx) {
      E.io.saveCheckpoint({ model, optimizer, scheduler, epoch: log.epoch, history: ctx.history, extra: { loaderEpoch: loader.epoch } }, ckpt);
    },
  };
  const killer = {
    onBatchEnd(logs, ctx) {
      if (kind === 'crash' && ctx.epoch === Number(crashEpoch) && logs.batch === Number(crashBatch)) process.kill(process.pid, 'SIGKILL');
    },
  };
  const h = await E.fit(model, { train: loader, loss, optimizer, scheduler, epochs: epochs - initialEpoch, initialEpoch, history, callbacks: [checkpointing, killer], progress: false });
  const bytes = Buffer.concat(model.parameters().map((p) => Buffer.from(p.data().buffer)));
  writeFileSync(join(dir, 'final.bin'), bytes);
  console.log(JSON.stringify({ epochs: h.epochs.length, losses: h.epochs.map((e) => e.loss), lr: optimizer.paramGroups[0].lr }));
}
