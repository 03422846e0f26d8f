// io.test.ts — safetensors reading/writing (against a file written by Python from a torch state
// dict), the negative corpus of malformed files, atomic writes, and checkpoints.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';
import { parseSafetensors, serializeSafetensors } from '../lib/ts/io/safetensors.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const tmp = () => mkdtempSync(join(tmpdir(), 'entrena-io-'));

function file(header: object | string, data: Buffer = Buffer.alloc(0), lengthOverride?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  return Buffer.concat([len, text, data]);
}
const expectFormat = (bytes: Buffer, pattern: RegExp) => {
  try {
    parseSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(E.EntrenaError);
    expect((e as E.EntrenaError).code).toBe('ERR_FORMAT');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected ERR_FORMAT');
};

describe('safetensors', () => {
  it('reads a file written by Python from a torch state dict, names and values intact', () => {
    const expected = JSON.parse(readFileSync(join(fixtures, 'torch_mlp.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    const { tensors, metadata } = E.io.readSafetensors(join(fixtures, 'torch_mlp.safetensors'));
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(tensors)).toContain('1.running_var');
    expect(metadata.format).toBe('pt');
    for (const [k, v] of Object.entries(expected)) {
      expect(tensors[k].shape).toEqual(v.shape);
      const got = Array.from(tensors[k].data());
      v.values.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
    }
    expect(tensors['1.num_batches_tracked'].dtype).toBe('int32');
  });

  it('round-trips float32, float64 and int32 tensors with metadata', () => {
    const a = E.tensor([[1.5, -2], [3, 4]]);
    const b = E.tensor([1e-300, -0], { dtype: 'float64' });
    const c = E.tensor([7, -8, 9], { dtype: 'int32' });
    const bytes = serializeSafetensors([['a', a], ['b', b], ['c', c]], { note: 'hi' });
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata.note).toBe('hi');
    expect([...parsed.tensors.keys()]).toEqual(['a', 'b', 'c']);
    const dir = tmp();
    writeFileSync(join(dir, 'x.safetensors'), bytes);
    const { tensors } = E.io.readSafetensors(join(dir, 'x.safetensors'));
    expect(tensors.a.toArray()).toEqual([[1.5, -2], [3, 4]]);
    expect(tensors.b.dtype).toBe('float64');
    expect(tensors.b.toArray()).toEqual([1e-300, -0]);
    expect(tensors.c.toArray()).toEqual([7, -8, 9]);
  });

  it('rejects malformed files with ERR_FORMAT', () => {
    const f32 = (n: number) => Buffer.alloc(4 * n);
    expectFormat(Buffer.alloc(4), /too short/);
    expectFormat(file({}, Buffer.alloc(0), 1000n), /past the end/);
    expectFormat(file({}, Buffer.alloc(0), 8n * 1024n * 1024n * 1024n), /exceeds the limit/);
    expectFormat(file('{"a": '), /invalid header JSON/);
    expectFormat(file('[1, 2]'), /not a JSON object/);
    expectFormat(file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f32(2)), /duplicate key/);
    expectFormat(file({ a: { dtype: 'Q8', shape: [1], data_offsets: [0, 4] } }, f32(1)), /unknown dtype/);
    expectFormat(file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, f32(1)), /needs 8 bytes/);
    expectFormat(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, f32(1)), /out of range/);
    expectFormat(file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(1)), /out of range/);
    expectFormat(file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /overlap/);
    expectFormat(file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /invalid shape/);
    expectFormat(file({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32(1)), /invalid data_offsets/);
    expectFormat(file({ __metadata__: { a: 1 } }), /must be a string/);
  });

  it('treats a __proto__ key as an ordinary tensor name, never as a prototype', () => {
    const bytes = file('{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', Buffer.from(new Float32Array([3]).buffer));
    const parsed = parseSafetensors(bytes);
    expect([...parsed.tensors.keys()]).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it('writes atomically: a failed write leaves the previous file and no temporary', () => {
    const dir = tmp();
    const path = join(dir, 'm.safetensors');
    const model = { stateDict: () => ({ w: E.tensor([1, 2]) }), loadStateDict: () => undefined };
    E.io.save(model, path);
    const before = readFileSync(path);
    const bad = { stateDict: () => { throw new Error('boom'); }, loadStateDict: () => undefined };
    expect(() => E.io.save(bad, path)).toThrow('boom');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(() => E.io.save(model, join(dir, 'missing-dir', 'x.safetensors'))).toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('checkpoints', () => {
  it('round-trips model tensors, nested optimizer state with tensors, epoch, RNG and history', () => {
    const dir = tmp();
    const path = join(dir, 'ckpt.safetensors');
    const w = E.tensor([[1, 2], [3, 4]]);
    let loadedModel: Record<string, E.Tensor> = {};
    const model = { stateDict: () => ({ weight: w }), loadStateDict: (sd: Record<string, E.Tensor>) => { loadedModel = sd; } };
    let loadedOpt: unknown = null;
    const optimizer = {
      stateDict: () => ({ state: { 0: { step: 3, expAvg: E.tensor([0.5, 0.25]) } }, paramGroups: [{ lr: 0.001, betas: [0.9, 0.999], eps: Infinity }] }),
      loadStateDict: (sd: unknown) => { loadedOpt = sd; },
    };
    const history = new E.History();
    history.epochs.push({ epoch: 0, loss: 1.5, metrics: { accuracy: 0.5 }, lr: 0.001, seconds: 1 });
    E.manualSeed(123);
    E.rand([5]);
    const rngBefore = E.getRngState();
    E.io.saveCheckpoint({ model, optimizer, epoch: 4, history, extra: { batchSize: 32 } }, path);
    E.rand([100]);
    const r = E.io.loadCheckpoint(path, { model, optimizer });
    expect(r.epoch).toBe(4);
    expect(r.extra).toEqual({ batchSize: 32 });
    expect(r.history.epochs[0].metrics.accuracy).toBe(0.5);
    expect(E.getRngState()).toEqual(rngBefore);
    expect(loadedModel.weight.toArray()).toEqual([[1, 2], [3, 4]]);
    const o = loadedOpt as { state: Record<string, { step: number; expAvg: E.Tensor }>; paramGroups: { eps: number }[] };
    expect(o.state['0'].step).toBe(3);
    expect(o.state['0'].expAvg.toArray()).toEqual([0.5, 0.25]);
    expect(o.paramGroups[0].eps).toBe(Infinity);
  });

  it('rejects a plain safetensors file as a checkpoint', () => {
    expect(() => E.io.loadCheckpoint(join(fixtures, 'torch_mlp.safetensors'))).toThrow(/not an entrena checkpoint/);
    expect(existsSync(join(fixtures, 'torch_mlp.safetensors'))).toBe(true);
  });
});
