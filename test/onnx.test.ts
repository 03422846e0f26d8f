// onnx.test.ts — io.exportOnnx checked by runtimes nobody here wrote: every exported model runs in
// onnxruntime-node (a devDependency; never skipped) on random input at batch sizes 1 and 7 and
// must match our eval-mode forward within 1e-5 (float32); Debian's python3-onnx, when installed,
// runs onnx.checker.check_model on an exported file (that part alone skips, saying why).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as E from '../lib/ts/index.js';

const { nn, io } = E;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'entrena-onnx-'));

class Custom extends nn.Module {
  override forward(x: E.Tensor): E.Tensor { return x; }
}

/** Fills BatchNorm running statistics with a few training-mode passes, then switches to eval. */
function warm(model: E.nn.Module, shape: number[]): void {
  model.train();
  E.noGrad(() => { for (let i = 0; i < 3; i++) model.forward(E.randn([16, ...shape.slice(1)]).mul(2).add(0.5)); });
  model.eval();
}

/** Exports `model`, runs it in onnxruntime at each batch size, compares to model.forward (eval). */
async function checkAgainstOrt(model: E.nn.Module, inputShape: (number | null)[], batches = [1, 7], opset?: number): Promise<string> {
  const file = join(tmp(), 'model.onnx');
  io.exportOnnx(model, file, { inputShape, ...(opset ? { opset } : {}) });
  const session = await ort.InferenceSession.create(file);
  expect(session.inputNames).toEqual(['input']);
  expect(session.outputNames).toEqual(['output']);
  model.eval();
  for (const n of batches) {
    const shape = [n, ...(inputShape.slice(1) as number[])];
    const x = E.randn(shape).mul(3);
    const want = E.noGrad(() => model.forward(x));
    const got = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data() as Float32Array), shape) })).output;
    expect(got.dims).toEqual(want.shape);
    const a = got.data as Float32Array, b = want.data() as Float32Array;
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) - 1e-5 * Math.abs(b[i]));
    expect(worst, `batch ${n}: worst |ort − entrena| − 1e-5·|entrena|`).toBeLessThanOrEqual(1e-5);
  }
  return file;
}

function everyActivation(): E.nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(6, 12), new nn.BatchNorm1d(12), new nn.ReLU(),
    new nn.Linear(12, 12), new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.PReLU({ numParameters: 12, init: 0.1 }),
    new nn.ELU({ alpha: 0.7 }), new nn.SELU(), new nn.GELU(), new nn.GELU({ approximate: 'tanh' }),
    new nn.Linear(12, 12), new nn.SiLU(), new nn.Mish(), new nn.RReLU(), new nn.Dropout(0.3), new nn.AlphaDropout(0.2),
    new nn.Linear(12, 12), new nn.Softplus({ beta: 2, threshold: 1 }), new nn.Softplus(), new nn.BatchNorm1d(12, { affine: false }),
    new nn.Identity(), new nn.Hardtanh({ minVal: -0.5, maxVal: 0.8 }), new nn.Linear(12, 12), new nn.LogSigmoid(),
    new nn.Linear(12, 12), new nn.Sigmoid(), new nn.Linear(12, 12), new nn.Tanh(), new nn.Linear(12, 3), new nn.LogSoftmax(-1),
  );
}

describe('io.exportOnnx × onnxruntime-node', () => {
  it('MLP with BatchNorm1d (eval) and every activation, dynamic batch: 1 and 7', async () => {
    E.manualSeed(1);
    const model = everyActivation();
    warm(model, [16, 6]);
    await checkAgainstOrt(model, [null, 6]);
  });

  it('LayerNorm + GELU + Softmax head (opset 17, and opset 21)', async () => {
    E.manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(5, 8), new nn.LayerNorm(8, { eps: 1e-3 }), new nn.GELU(), new nn.Linear(8, 4), new nn.Softmax(1));
    // Move LayerNorm's affine parameters off their ones/zeros start so they are really compared.
    E.noGrad(() => { for (const p of model.parameters()) p.copy_(p.add(E.randn(p.shape).mul(0.1))); });
    await checkAgainstOrt(model, [null, 5]);
    await checkAgainstOrt(model, [null, 5], [7], 21);
  });

  it('Flatten of [N, 2, 3, 4], 3-D Linear (MatMul), BatchNorm1d on [N, C, L], per-channel PReLU, LayerNorm over 2 dims', async () => {
    E.manualSeed(3);
    await checkAgainstOrt(new nn.Sequential(new nn.Flatten(), new nn.Linear(24, 5), new nn.ReLU(), new nn.Linear(5, 2, { bias: false })), [null, 2, 3, 4]);
    const m = new nn.Sequential(
      new nn.Linear(6, 6), new nn.BatchNorm1d(4), new nn.PReLU({ numParameters: 4, init: -0.3 }), new nn.LayerNorm([4, 6], { elementwiseAffine: false }),
      new nn.Flatten(2, 2), new nn.Sequential(new nn.Flatten(1, -1), new nn.Linear(24, 3)), new nn.Softmax(-1));
    warm(m, [16, 4, 6]);
    await checkAgainstOrt(m, [null, 4, 6]);
    await checkAgainstOrt(new nn.Sequential(new nn.Flatten(0, 1), new nn.Tanh()), [null, 3, 2]);
  });

  it('the comparison bites: a weight changed after export shows up as a mismatch', async () => {
    E.manualSeed(6);
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.Tanh());
    const file = join(tmp(), 'm.onnx');
    io.exportOnnx(model, file, { inputShape: [null, 4] });
    E.noGrad(() => { (model.at(0) as E.nn.Linear).weight.copy_((model.at(0) as E.nn.Linear).weight.add(0.01)); });
    const x = E.randn([7, 4]);
    const got = (await (await ort.InferenceSession.create(file)).run({ input: new ort.Tensor('float32', Float32Array.from(x.data() as Float32Array), [7, 4]) })).output.data as Float32Array;
    const want = E.noGrad(() => model.forward(x)).data() as Float32Array;
    expect(Math.max(...Array.from(want, (v, i) => Math.abs(v - got[i])))).toBeGreaterThan(1e-3);
  });

  it('opset 13: the MLP with every activation (no LayerNorm)', async () => {
    E.manualSeed(7);
    const model = everyActivation();
    warm(model, [16, 6]);
    await checkAgainstOrt(model, [null, 6], [1, 7], 13);
  });

  it('a static batch: inputShape [7, 6] runs at 7; a single layer; an empty Sequential', async () => {
    E.manualSeed(4);
    const model = new nn.Sequential(new nn.Linear(6, 3), new nn.Sigmoid());
    await checkAgainstOrt(model, [7, 6], [7]);
    await checkAgainstOrt(new nn.Linear(6, 2), [null, 6]);
    await checkAgainstOrt(new nn.Sequential(), [null, 6]);
  });
});

describe('io.exportOnnx errors', () => {
  const code = (fn: () => unknown, c: string, re?: RegExp): void => {
    let err: unknown;
    try { fn(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(E.EntrenaError);
    expect((err as E.EntrenaError).code).toBe(c);
    if (re) expect((err as Error).message).toMatch(re);
  };
  const file = (): string => join(tmp(), 'm.onnx');

  it('an unsupported layer is ERR_INVALID_ARGUMENT naming the layer and its index; nothing is written', () => {
    const f = file();
    code(() => io.exportOnnx(new nn.Sequential(new nn.Linear(3, 3), new Custom()), f, { inputShape: [null, 3] }), 'ERR_INVALID_ARGUMENT', /layer 1 \(Custom\)/);
    expect(existsSync(f)).toBe(false);
    code(() => io.exportOnnx(new nn.Sequential(new nn.Linear(3, 3), new nn.Sequential(new nn.ReLU(), new Custom())), f, { inputShape: [null, 3] }), 'ERR_INVALID_ARGUMENT', /layer 1\.1 \(Custom\)/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.BatchNorm1d(3, { trackRunningStats: false })), f, { inputShape: [null, 3] }), 'ERR_INVALID_ARGUMENT', /layer 0 \(BatchNorm1d\).*running statistics/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.LayerNorm(3)), f, { inputShape: [null, 3], opset: 13 }), 'ERR_INVALID_ARGUMENT', /layer 0 \(LayerNorm\).*opset 17/);
  });

  it('shapes that do not fit are ERR_SHAPE; float64 parameters are ERR_DTYPE', () => {
    code(() => io.exportOnnx(new nn.Sequential(new nn.Linear(3, 2), new nn.Linear(3, 2)), file(), { inputShape: [null, 3] }), 'ERR_SHAPE', /layer 1 \(Linear\) expects 3 features/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.Softmax(2)), file(), { inputShape: [null, 3] }), 'ERR_SHAPE', /layer 0 \(Softmax\)/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.Flatten(2, 1)), file(), { inputShape: [null, 3, 4] }), 'ERR_INVALID_ARGUMENT', /layer 0 \(Flatten\) has startDim 2 after endDim 1/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.PReLU({ numParameters: 4 })), file(), { inputShape: [null, 3] }), 'ERR_SHAPE', /layer 0 \(PReLU\)/);
    code(() => io.exportOnnx(new nn.Sequential(new nn.Linear(3, 2, { dtype: 'float64' })), file(), { inputShape: [null, 3] }), 'ERR_DTYPE', /float32/);
  });

  it('bad arguments and options are ERR_INVALID_ARGUMENT', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2));
    const bad: unknown[] = [undefined, null, {}, { inputShape: [] }, { inputShape: [null, 0] }, { inputShape: [3, null] }, { inputShape: [null, 2.5] },
      { inputShape: 'x' }, { inputShape: [null, 3], opset: 12 }, { inputShape: [null, 3], opset: 22 }, { inputShape: [null, 3], opset: 17.5 },
      { inputShape: [null, 3], shape: [1] }, { inputShape: [null, 3], inputName: '' }, { inputShape: [null, 3], inputName: 'a', outputName: 'a' }];
    for (const o of bad) code(() => io.exportOnnx(m, file(), o as E.io.ExportOnnxOptions), 'ERR_INVALID_ARGUMENT', /exportOnnx/);
    code(() => io.exportOnnx({} as E.nn.Module, file(), { inputShape: [null, 3] }), 'ERR_INVALID_ARGUMENT', /nn\.Module/);
    code(() => io.exportOnnx(m, '' as string, { inputShape: [null, 3] }), 'ERR_INVALID_ARGUMENT', /file path/);
    code(() => io.exportOnnx(m, join(tmp(), 'no', 'such', 'dir.onnx'), { inputShape: [null, 3] }), 'ERR_IO');
  });
});

const PY = '/usr/bin/python3';
const hasOnnx = existsSync(PY) && spawnSync(PY, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const CHECK = `
import sys, json, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
g = m.graph
print(json.dumps({"ir": m.ir_version, "opset": [o.version for o in m.opset_import],
  "init": [t.name for t in g.initializer],
  "input": [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in g.input],
  "output": [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in g.output]}))
`;

describe('io.exportOnnx × onnx.checker (python3-onnx)', () => {
  it.skipIf(!hasOnnx)(`check_model(full_check) accepts the exported MLP; state-dict initializer names, dynamic batch${hasOnnx ? '' : ' — skipped: /usr/bin/python3 cannot import onnx (apt-get install python3-onnx)'}`, async () => {
    E.manualSeed(5);
    const model = everyActivation();
    warm(model, [16, 6]);
    const f = await checkAgainstOrt(model, [null, 6], [2]);
    const r = spawnSync(PY, ['-c', CHECK, f], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as { ir: number; opset: number[]; init: string[]; input: unknown[][]; output: unknown[][] };
    expect(info.ir).toBe(8);
    expect(info.opset).toEqual([17]);
    expect(info.init).toEqual(expect.arrayContaining(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '5.weight', '28.weight']));
    expect(info.input).toEqual([['batch', 6]]);
    expect(info.output).toEqual([['batch', 3]]);
  });
});
