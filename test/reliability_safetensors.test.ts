// reliability_safetensors.test.ts — the safetensors reader against hostile files: a crafted negative
// corpus, then a time-bounded mutation fuzz loop (random byte flips, insertions, deletions,
// truncations, header-length rewrites and header-JSON edits of valid files, thousands of cases).
// Property: every case is a valid parse whose tensors all decode, or an EntrenaError ERR_FORMAT;
// never another error, a crash, prototype pollution, or a large allocation (RSS is watched).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';
import { entryToTensor, parseSafetensors, serializeSafetensors } from '../lib/ts/io/safetensors.js';

const BUDGET_MS = Number(process.env.ENTRENA_ST_FUZZ_MS ?? 3000);

function file(header: object | string, data: Buffer = Buffer.alloc(0), lengthOverride?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  return Buffer.concat([len, text, data]);
}

/** 'ok' (parsed, every tensor decoded), or the error code; throws on anything that is not ERR_FORMAT. */
function outcome(bytes: Buffer): 'ok' | 'ERR_FORMAT' {
  let parsed;
  try {
    parsed = parseSafetensors(bytes);
  } catch (e) {
    if (e instanceof E.EntrenaError && e.code === 'ERR_FORMAT') return 'ERR_FORMAT';
    throw e;
  }
  for (const name of parsed.tensors.keys()) {
    let t: E.Tensor;
    try {
      t = entryToTensor(parsed, name);
    } catch (e) {
      if (e instanceof E.EntrenaError && e.code === 'ERR_FORMAT') return 'ERR_FORMAT';
      throw e;
    }
    const entry = parsed.tensors.get(name)!;
    expect(t.shape).toEqual(entry.shape);
    t.dispose();
  }
  return 'ok';
}

function polluted(): boolean {
  const probe = {} as Record<string, unknown>;
  return probe.dtype !== undefined || probe.shape !== undefined || probe.data_offsets !== undefined || probe.polluted !== undefined;
}

function validFiles(): Buffer[] {
  E.manualSeed(0);
  const a = E.randn([3, 4]), b = E.arange(0, 5).cast('int32'), c = E.randn([2], { dtype: 'float64' }), s = E.tensor(7), z = E.zeros([0, 3]);
  const files = [
    serializeSafetensors([['weight', a], ['idx', b], ['d', c], ['scalar', s], ['empty', z]], { format: 'pt', note: 'x'.repeat(20) }),
    serializeSafetensors([['only', a]]),
    serializeSafetensors([], { format: 'pt' }),
  ];
  for (const t of [a, b, c, s, z]) t.dispose();
  return files;
}

describe('safetensors: crafted negative corpus', () => {
  const f32 = (n: number) => Buffer.alloc(4 * n);
  const cases: [string, Buffer][] = [
    ['empty file', Buffer.alloc(0)],
    ['7 bytes', Buffer.alloc(7)],
    ['header length past the end', file({}, Buffer.alloc(0), 1000n)],
    ['8 GB header claim', file({}, Buffer.alloc(0), 8n * 1024n ** 3n)],
    ['2^64 − 1 header claim', file({}, Buffer.alloc(0), 2n ** 64n - 1n)],
    ['header length 0', file('', Buffer.alloc(0))],
    ['truncated JSON', file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]', f32(1))],
    ['JSON array', file('[]')],
    ['JSON string', file('"abc"')],
    ['JSON null', file('null')],
    ['deep nesting', file('['.repeat(5000) + ']'.repeat(5000))],
    ['data truncated', file({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(2))],
    ['offsets past the data', file({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(1))],
    ['begin > end', file({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1))],
    ['negative offset', file({ a: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, f32(1))],
    ['fractional offset', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, f32(2))],
    ['huge offsets', file({ a: { dtype: 'F32', shape: [1], data_offsets: [2 ** 60, 2 ** 60 + 4] } }, f32(1))],
    ['overlapping offsets', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3))],
    ['identical offsets', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1))],
    ['duplicate keys', file('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(1))],
    ['unknown dtype', file({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, f32(4))],
    ['dtype not a string', file({ a: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, f32(1))],
    ['shape/size mismatch', file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2))],
    ['negative dim', file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1))],
    ['huge dims (product past 2^64)', file({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 1], data_offsets: [0, 0] } })],
    ['huge dims wrapping to 4 bytes in 64-bit arithmetic', file({ a: { dtype: 'F32', shape: [2 ** 32, 2 ** 32, 1], data_offsets: [0, 4] } }, f32(1))],
    ['huge dims claiming 8 GB', file({ a: { dtype: 'F64', shape: [2 ** 30], data_offsets: [0, 8 * 2 ** 30] } }, f32(2))],
    ['shape not an array', file({ a: { dtype: 'F32', shape: '1', data_offsets: [0, 4] } }, f32(1))],
    ['entry not an object', file({ a: 3 })],
    ['metadata not strings', file({ __metadata__: { a: 1 } })],
    ['metadata an array', file({ __metadata__: ['a'] })],
    ['invalid UTF-8 in header', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])])],
    ['NUL bytes in header', file('{\u0000}')],
  ];
  for (const [label, bytes] of cases) {
    it(`rejects: ${label}`, () => {
      const rss = process.memoryUsage().rss;
      expect(outcome(bytes)).toBe('ERR_FORMAT');
      expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    });
  }

  it('out-of-order (non-overlapping) offsets: a valid parse with the right values, or ERR_FORMAT', () => {
    const data = Buffer.alloc(8);
    data.writeFloatLE(1, 0); data.writeFloatLE(2, 4);
    const bytes = file({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data);
    if (outcome(bytes) === 'ok') {
      const p = parseSafetensors(bytes);
      const a = entryToTensor(p, 'a'), b = entryToTensor(p, 'b');
      expect([a.item(), b.item()]).toEqual([1, 2]);
      a.dispose(); b.dispose();
    }
  });

  it('`__proto__`, `constructor` and `prototype` keys neither pollute prototypes nor crash', () => {
    for (const key of ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString']) {
      const header = `{"${key}": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {"${key}": "x", "polluted": "yes"}}`;
      const bytes = file(header, Buffer.alloc(4));
      const r = outcome(bytes);
      expect(['ok', 'ERR_FORMAT']).toContain(r);
      if (r === 'ok') expect([...parseSafetensors(bytes).tensors.keys()]).toEqual([key]);
      const nested = file(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "__proto__": {"polluted": 1}}}`, Buffer.alloc(4));
      expect(['ok', 'ERR_FORMAT']).toContain(outcome(nested));
      expect(polluted()).toBe(false);
    }
  });

  it('a checkpoint with a corrupted header or metadata is ERR_FORMAT from io.loadCheckpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entrena-rel-st-'));
    const model = new E.nn.Linear(2, 2);
    const path = join(dir, 'c.safetensors');
    E.io.saveCheckpoint({ model, epoch: 1 }, path);
    expect(outcome(readFileSync(path))).toBe('ok');
    const bad = [
      file({ __metadata__: { entrena_checkpoint: '{not json' } }),
      file({ __metadata__: { entrena_checkpoint: '{"version":1,"epoch":1,"rng":{"seed":0,"counter":0},"history":null,"optimizer":{"__tensor__":"optimizer.9"},"scheduler":null,"extra":null}' } }),
      file({ __metadata__: { format: 'pt' } }),
    ];
    for (const [i, bytes] of bad.entries()) {
      const p = join(dir, `bad${i}.safetensors`);
      writeFileSync(p, bytes);
      let err: unknown = null;
      try { E.io.loadCheckpoint(p, { model }); } catch (e) { err = e; }
      expect(err, `case ${i}`).toBeInstanceOf(E.EntrenaError);
      expect((err as E.EntrenaError).code, `case ${i}: ${(err as Error).message}`).toBe('ERR_FORMAT');
    }
    for (const p of model.parameters()) p.dispose();
  });
});

describe('safetensors: mutation fuzz of valid files', () => {
  it(`every mutation parses validly or is ERR_FORMAT, within ${BUDGET_MS} ms, without RSS growth`, () => {
    const seeds = validFiles();
    let s = 0x9e3779b9;
    const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
    const int = (n: number) => Math.floor(rnd() * n);
    const counts = { ok: 0, ERR_FORMAT: 0 };
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    const t0 = performance.now();
    let cases = 0;
    while (performance.now() - t0 < BUDGET_MS || cases < 2000) {
      const base = seeds[int(seeds.length)];
      let buf = Buffer.from(base);
      const headerLen = Number(buf.readBigUInt64LE(0));
      const edits = 1 + int(4);
      for (let k = 0; k < edits; k++) {
        switch (int(9)) {
          case 0: case 1: { // flip bits anywhere
            if (buf.length) buf[int(buf.length)] ^= 1 << int(8);
            break;
          }
          case 2: { // overwrite a header byte with a JSON-significant character
            if (buf.length > 8) buf[8 + int(Math.min(headerLen, buf.length - 8))] = '{}[]",:-0123456789e.'.charCodeAt(int(20));
            break;
          }
          case 3: buf = buf.subarray(0, int(buf.length + 1)); break; // truncate
          case 4: { // insert random bytes
            const at = int(buf.length + 1);
            buf = Buffer.concat([buf.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), buf.subarray(at)]);
            break;
          }
          case 5: { // delete a range
            const at = int(buf.length + 1);
            buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + int(8)))]);
            break;
          }
          case 6: { // rewrite the header length
            if (buf.length >= 8) {
              const choices = [0n, 1n, BigInt(headerLen - 1), BigInt(headerLen + 1), BigInt(buf.length), 8n * 1024n ** 3n, 100n * 1024n * 1024n, 2n ** 63n, 2n ** 64n - 1n];
              buf = Buffer.from(buf);
              buf.writeBigUInt64LE(choices[int(choices.length)], 0);
            }
            break;
          }
          case 7: { // edit a number inside the header JSON (offsets, dims)
            const text = buf.subarray(8, 8 + Math.min(headerLen, buf.length - 8)).toString('latin1');
            const nums = [...text.matchAll(/\d+/g)];
            if (nums.length) {
              const m = nums[int(nums.length)];
              const repl = ['0', '1', '-1', '4294967296', '9007199254740993', '1e308', '0.5', String(Number(m[0]) + 4), String(Number(m[0]) - 4)][int(9)];
              const edited = text.slice(0, m.index) + repl + text.slice(m.index! + m[0].length);
              buf = Buffer.concat([Buffer.alloc(8), Buffer.from(edited, 'latin1'), buf.subarray(8 + headerLen)]);
              buf.writeBigUInt64LE(BigInt(Buffer.byteLength(edited, 'latin1')), 0);
            }
            break;
          }
          case 8: { // swap a dtype name
            const text = buf.subarray(8, 8 + Math.min(headerLen, buf.length - 8)).toString('latin1');
            const edited = text.replace(/"(F32|F64|I32)"/, `"${['F16', 'BF16', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'c64', '', 'F32'][int(9)]}"`);
            buf = Buffer.concat([Buffer.alloc(8), Buffer.from(edited, 'latin1'), buf.subarray(8 + headerLen)]);
            buf.writeBigUInt64LE(BigInt(Buffer.byteLength(edited, 'latin1')), 0);
            break;
          }
        }
      }
      let r: 'ok' | 'ERR_FORMAT';
      try {
        r = outcome(buf);
      } catch (e) {
        throw new Error(`case ${cases}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n  bytes (hex, first 200): ${buf.subarray(0, 200).toString('hex')}`);
      }
      counts[r]++;
      cases++;
      if ((cases & 255) === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    console.log(`safetensors mutation fuzz: ${cases} cases in ${Math.round(performance.now() - t0)} ms (${counts.ok} valid, ${counts.ERR_FORMAT} ERR_FORMAT), RSS +${((rssMax - rss0) / 2 ** 20).toFixed(1)} MiB`);
    expect(counts.ERR_FORMAT).toBeGreaterThan(cases / 4);
    expect(rssMax - rss0).toBeLessThan(200 * 2 ** 20);
    expect(polluted()).toBe(false);
  });
});
