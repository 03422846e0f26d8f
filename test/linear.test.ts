// linear.test.ts — the fused linear op (GEMM onto the broadcast bias, one graph node) against
// the composed x·Wᵀ + b, and its float64 gradient check, with and without bias, 2-D and 3-D input.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

describe('linear', () => {
  it.each([[[5, 4]], [[2, 3, 4]]])('matches x·Wᵀ + b for input %j', (shape) => {
    E.manualSeed(3);
    const x = E.randn(shape), w = E.randn([6, 4]), b = E.randn([6]);
    const fused = E.linear(x, w, b).data(), composed = E.matmul(x, w.T).add(b).data();
    fused.forEach((v, i) => expect(Math.abs(v - composed[i])).toBeLessThan(1e-5));
    expect(E.linear(x, w).shape).toEqual([...shape.slice(0, -1), 6]);
  });
  it('passes a float64 gradient check (with and without bias, 3-D input)', () => {
    E.manualSeed(4);
    const o = { dtype: 'float64' as const, requiresGrad: true };
    const x = E.randn([2, 3, 4], o), w = E.randn([5, 4], o), b = E.randn([5], o);
    expect(E.gradcheck((x, w, b) => E.linear(x, w, b), [x, w, b])).toBe(true);
    expect(E.gradcheck((x, w) => E.linear(x, w), [x, w])).toBe(true);
  });
  it('gives the weight a contiguous gradient in its own layout', () => {
    const x = E.randn([8, 4]), w = E.randn([3, 4], { requiresGrad: true }), b = E.zeros([3], { requiresGrad: true });
    E.linear(x, w, b).sum().backward();
    expect(w.grad!.isContiguous()).toBe(true);
    expect(w.grad!.shape).toEqual([3, 4]);
    expect(Array.from(b.grad!.data())).toEqual([8, 8, 8]);
  });
  it('validates shapes', () => {
    expect(() => E.linear(E.zeros([2, 5]), E.zeros([3, 4]))).toThrow(/expected input with 4 features/);
    expect(() => E.linear(E.zeros([2, 4]), E.zeros([3, 4]), E.zeros([4]))).toThrow(/bias of shape \[3\]/);
    expect(() => E.linear(E.zeros([2, 4]), E.zeros([4]))).toThrow(/2-D weight/);
  });
});
