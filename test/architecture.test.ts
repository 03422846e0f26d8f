// architecture.test.ts — the module structure DESIGN.md asks for, checked on the sources: the
// lib/ts import graph has no cycle (the core imports nothing from ops or the autograd engine; ops
// record through the door; the engine imports ops, never the reverse), and only the tensor core,
// the ops and the optimizers' fused host reach the native binding's kernels (layers go through ops).
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'lib', 'ts');
const files: string[] = [];
const walk = (d: string): void => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
walk(root);
const rel = (p: string): string => relative(root, p);

/** Value imports (not `import type`) of each file, as absolute paths of .ts files. */
const graph = new Map<string, string[]>();
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const deps: string[] = [];
  for (const m of src.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gm)) {
    if (m[2]) continue;
    deps.push(resolve(dirname(f), m[3].replace(/\.js$/, '.ts')));
  }
  graph.set(f, deps);
}

describe('lib/ts structure', () => {
  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (v: string, path: string[]): void => {
      state.set(v, 'open');
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (state.get(w) === 'open') cycles.push([...path.slice(path.indexOf(w)), w].map(rel).join(' → '));
        else if (!state.has(w)) visit(w, [...path, w]);
      }
      state.set(v, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
    expect(files.length).toBeGreaterThan(50);
  });

  it('the tensor core imports nothing from ops, nn or the autograd engine', () => {
    const core = files.filter((f) => rel(f).startsWith('core/'));
    expect(core.length).toBeGreaterThanOrEqual(5);
    const bad = core.flatMap((f) => (graph.get(f) ?? []).map(rel).filter((d) => /^(ops|nn|autograd\/engine|optim|train)/.test(d)).map((d) => `${rel(f)} → ${d}`));
    expect(bad).toEqual([]);
  });

  it('only the core, the ops and the fused optimizer host call kernels of the binding', () => {
    const callers = files.filter((f) => /native\.(unary|binary|where|cast|fill|reduce|softmax|softmaxBackward|index|random|gemm|batchnormForward|batchnormBackward|optimStep|read|write)\(/.test(readFileSync(f, 'utf8')));
    expect(callers.map(rel).filter((f) => !f.startsWith('core/') && f !== 'optim/fused_host.ts')).toEqual([]);
  });
});
