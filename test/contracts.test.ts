// contracts.test.ts — the contracts that cross the TypeScript/C++ line, declared once in C++ and
// mirrored in TypeScript, checked here by reading both sides (DESIGN principle 17): op ids
// (native/core/ops.h ↔ lib/ts/native.ts) and the fused optimizer's kinds, flags, named host
// scalars and state tensors (native/core/backend.h ↔ lib/ts/optim/fused_host.ts). The C++ side is
// parsed from the headers' text with regular expressions (no compiler involved; the TypeScript
// tables are imported, which loads the addon as any suite does); a parse that finds nothing fails
// too, so a reformatted header cannot make the check vacuous.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARY, DTYPE_CODE, INDEX, REDUCE, UNARY } from '../lib/ts/native.js';
import { OPTIM_SCALAR, OPTIM_SCALAR_SLOTS, OPTIM_STATE, OptimFlag, OptimKind } from '../lib/ts/optim/fused_host.js';

const root = join(import.meta.dirname, '..');
const opsH = readFileSync(join(root, 'native', 'core', 'ops.h'), 'utf8');
const backendH = readFileSync(join(root, 'native', 'core', 'backend.h'), 'utf8');
const viewH = readFileSync(join(root, 'native', 'core', 'view.h'), 'utf8');

type Table = Record<string, number>;

/** snake_case → camelCase (C++ names → TypeScript keys where TypeScript spells them so). */
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The body of `#define NAME(X) ...` with its continuation lines, comments removed. */
function macroBody(src: string, name: string): string {
  const m = new RegExp(`^#define ${name}\\(X\\)((?:.*\\\\\\n)*.*)$`, 'm').exec(src);
  if (!m) throw new Error(`#define ${name}(X) not found`);
  return m[1].replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\\\n/g, ' ');
}

/** The X(name, number, ...) entries of an X-macro list, in order. */
function xEntries(src: string, macro: string): [string, number][] {
  const body = macroBody(src, macro);
  const entries = [...body.matchAll(/\bX\(\s*(\w+)\s*,\s*(-?\d+)\s*[,)]/g)].map((m): [string, number] => [m[1], Number(m[2])]);
  if (entries.length === 0) throw new Error(`${macro}: no X(name, id, ...) entries found`);
  return entries;
}

/** `enum [class] NAME : type { a = 0, b = 1 }` → [['a', 0], ['b', 1]]. */
function enumEntries(src: string, name: string): [string, number][] {
  const m = new RegExp(`enum\\s+(?:class\\s+)?${name}\\s*:\\s*\\w+\\s*\\{([^}]*)\\}`).exec(src);
  if (!m) throw new Error(`enum ${name} not found`);
  const body = m[1].replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const entries = [...body.matchAll(/(\w+)\s*=\s*(-?\d+)/g)].map((e): [string, number] => [e[1], Number(e[2])]);
  if (entries.length === 0) throw new Error(`enum ${name}: no entries found`);
  return entries;
}

/** A table from entries; a name given twice in C++ is itself a contract error. */
function tableOf(entries: [string, number][], what: string, rename: (s: string) => string = (s) => s): Table {
  const t: Table = {};
  for (const [name, id] of entries) {
    const key = rename(name);
    if (key in t) throw new Error(`${what}: '${name}' is declared twice`);
    t[key] = id;
  }
  return t;
}

/**
 * Fails with every entry that differs: missing on one side, or a different number. `cpp` and `ts`
 * name the two sources in the message.
 */
function expectSameTable(ts: Table, cpp: Table, what: string, tsWhere: string, cppWhere: string): void {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(cpp)) {
    if (!(k in ts)) problems.push(`'${k}' = ${v} is in ${cppWhere} but missing from ${tsWhere}`);
    else if (ts[k] !== v) problems.push(`'${k}' is ${v} in ${cppWhere} but ${ts[k]} in ${tsWhere}`);
  }
  for (const [k, v] of Object.entries(ts)) if (!(k in cpp)) problems.push(`'${k}' = ${v} is in ${tsWhere} but missing from ${cppWhere}`);
  if (problems.length) expect.fail(`${what}: TypeScript and C++ disagree:\n  ${problems.join('\n  ')}`);
  // Also equal as values, so a passing test is visibly a comparison.
  expect(ts).toEqual(cpp);
}

/** Ids must be unique within a table (two names on one id would run the wrong op). */
function expectUniqueIds(t: Table, what: string): void {
  const seen = new Map<number, string>();
  for (const [k, v] of Object.entries(t)) {
    if (seen.has(v)) expect.fail(`${what}: '${seen.get(v)}' and '${k}' share the id ${v}`);
    seen.set(v, k);
  }
}

describe('op ids: native/core/ops.h ↔ lib/ts/native.ts', () => {
  it('UNARY equals ENTRENA_UNARY_OPS', () => {
    const cpp = tableOf(xEntries(opsH, 'ENTRENA_UNARY_OPS'), 'ENTRENA_UNARY_OPS');
    expectUniqueIds(cpp, 'ENTRENA_UNARY_OPS');
    expectSameTable(UNARY, cpp, 'unary ops', 'UNARY (lib/ts/native.ts)', 'ENTRENA_UNARY_OPS (native/core/ops.h)');
  });
  it('BINARY equals ENTRENA_BINARY_OPS', () => {
    const cpp = tableOf(xEntries(opsH, 'ENTRENA_BINARY_OPS'), 'ENTRENA_BINARY_OPS');
    expectUniqueIds(cpp, 'ENTRENA_BINARY_OPS');
    expectSameTable(BINARY, cpp, 'binary ops', 'BINARY (lib/ts/native.ts)', 'ENTRENA_BINARY_OPS (native/core/ops.h)');
  });
  it('REDUCE equals enum ReduceOp', () => {
    const cpp = tableOf(enumEntries(opsH, 'ReduceOp'), 'ReduceOp');
    expectUniqueIds(cpp, 'ReduceOp');
    expectSameTable(REDUCE, cpp, 'reductions', 'REDUCE (lib/ts/native.ts)', 'enum ReduceOp (native/core/ops.h)');
  });
  it('INDEX equals enum IndexKind (camelCase keys)', () => {
    const cpp = tableOf(enumEntries(opsH, 'IndexKind'), 'IndexKind', camel);
    expectUniqueIds(cpp, 'IndexKind');
    expectSameTable(INDEX, cpp, 'index kinds', 'INDEX (lib/ts/native.ts)', 'enum IndexKind (native/core/ops.h)');
  });
  it('DTYPE_CODE equals enum DType of native/core/view.h (by the dtype names of dtype_name)', () => {
    const names: Record<string, string> = { f32: 'float32', f64: 'float64', i32: 'int32', bf16: 'bfloat16', f16: 'float16' };
    const cpp = tableOf(enumEntries(viewH, 'DType'), 'DType', (s) => names[s] ?? s);
    expectUniqueIds(cpp, 'DType');
    expectSameTable(DTYPE_CODE, cpp, 'dtypes', 'DTYPE_CODE (lib/ts/native.ts)', 'enum DType (native/core/view.h)');
  });
});

describe('fused optimizer: native/core/backend.h ↔ lib/ts/optim/fused_host.ts', () => {
  const kinds = tableOf(xEntries(backendH, 'ENTRENA_OPTIM_KINDS'), 'ENTRENA_OPTIM_KINDS');

  it('OptimKind equals ENTRENA_OPTIM_KINDS', () => {
    expectUniqueIds(kinds, 'ENTRENA_OPTIM_KINDS');
    expectSameTable(OptimKind, kinds, 'optimizer kinds', 'OptimKind (fused_host.ts)', 'ENTRENA_OPTIM_KINDS (backend.h)');
  });

  it('OptimFlag equals enum OptimFlag (kOptimFirstStep ↔ firstStep), one bit each', () => {
    const cpp = tableOf(enumEntries(backendH, 'OptimFlag'), 'OptimFlag', (s) => {
      if (!s.startsWith('kOptim')) throw new Error(`OptimFlag: '${s}' does not follow the kOptim<Name> pattern`);
      return s[6].toLowerCase() + s.slice(7);
    });
    expectSameTable(OptimFlag, cpp, 'optimizer flags', 'OptimFlag (fused_host.ts)', 'enum OptimFlag (backend.h)');
    for (const [k, v] of Object.entries(cpp)) expect(v > 0 && (v & (v - 1)) === 0, `flag ${k} = ${v} is not a single bit`).toBe(true);
    expectUniqueIds(cpp, 'OptimFlag');
  });

  it('OPTIM_SCALAR_SLOTS equals kOptimScalarSlots', () => {
    const m = /constexpr\s+int\s+kOptimScalarSlots\s*=\s*(\d+)\s*;/.exec(backendH);
    if (!m) expect.fail('kOptimScalarSlots not found in native/core/backend.h');
    expect(OPTIM_SCALAR_SLOTS, 'OPTIM_SCALAR_SLOTS (fused_host.ts) vs kOptimScalarSlots (backend.h)').toBe(Number(m[1]));
  });

  it('OPTIM_SCALAR has the kinds of ENTRENA_OPTIM_KINDS', () => {
    expect(Object.keys(OPTIM_SCALAR).sort(), 'OPTIM_SCALAR kinds').toEqual(Object.keys(kinds).sort());
    expect(Object.keys(OPTIM_STATE).sort(), 'OPTIM_STATE kinds').toEqual(Object.keys(kinds).sort());
  });

  for (const kind of Object.keys(OptimKind) as (keyof typeof OptimKind)[]) {
    it(`${kind}: OPTIM_SCALAR.${kind} equals ENTRENA_OPTIM_SCALARS_${kind} (camelCase names), slots unique and in range`, () => {
      const macro = `ENTRENA_OPTIM_SCALARS_${kind}`;
      const cpp = tableOf(xEntries(backendH, macro), macro, camel);
      expectUniqueIds(cpp, macro);
      for (const [k, v] of Object.entries(cpp)) expect(v >= 0 && v < OPTIM_SCALAR_SLOTS, `${macro}: ${k} at slot ${v}`).toBe(true);
      expectSameTable(OPTIM_SCALAR[kind], cpp, `${kind} host scalars`, `OPTIM_SCALAR.${kind} (fused_host.ts)`, `${macro} (backend.h)`);
    });
    it(`${kind}: OPTIM_STATE.${kind} equals ENTRENA_OPTIM_STATES_${kind} (camelCase names), indices 0..2`, () => {
      const macro = `ENTRENA_OPTIM_STATES_${kind}`;
      const cpp = tableOf(xEntries(backendH, macro), macro, camel);
      expectUniqueIds(cpp, macro);
      for (const [k, v] of Object.entries(cpp)) expect(v >= 0 && v <= 2, `${macro}: ${k} at state ${v}`).toBe(true);
      expectSameTable(OPTIM_STATE[kind], cpp, `${kind} state tensors`, `OPTIM_STATE.${kind} (fused_host.ts)`, `${macro} (backend.h)`);
    });
  }
});

describe('the checker itself', () => {
  it('reports a missing, an extra and a renumbered entry by name', () => {
    let message = '';
    try {
      expectSameTable({ a: 0, b: 2, extra: 9 }, { a: 0, b: 1, gone: 3 }, 'demo', 'TS', 'C++');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/'b' is 1 in C\+\+ but 2 in TS/);
    expect(message).toMatch(/'gone' = 3 is in C\+\+ but missing from TS/);
    expect(message).toMatch(/'extra' = 9 is in TS but missing from C\+\+/);
  });
  it('parses X-macro lists with continuation lines and comments', () => {
    const src = '#define L(X)  \\\n  X(a, 0, x)  /* c */ \\\n  X(b_c, 5, y)\n\nint z;';
    expect(xEntries(src, 'L')).toEqual([['a', 0], ['b_c', 5]]);
    expect(() => xEntries('#define L(X)\n', 'L')).toThrow(/no X\(name/);
    expect(() => xEntries('', 'M')).toThrow(/not found/);
  });
});
