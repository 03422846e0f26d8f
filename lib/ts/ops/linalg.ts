/**
 * linalg.ts — matmul: 2-D, batched 3-D (batch broadcast), and vector cases, on the native GEMM.
 *
 * Transposed operands are passed to GEMM as transpose flags with their leading dimension, never
 * copied: `x.matmul(w.T)` in a Linear layer reads w in place. Only a view that is neither row- nor
 * column-major (a strided slice) is made contiguous first.
 */
import { attach, needsGrad } from '../autograd/engine.js';
import { ShapeError } from '../errors.js';
import { DTYPE_CODE, native } from '../native.js';
import { Tensor, type DType } from '../tensor.js';
import { cast, contiguous } from './copy.js';
import { assertTensor, promote, promoteTypes, requireFloat, sameDevice, shapeStr } from './util.js';
import { reshape, squeeze, transpose, unsqueeze } from './shape.js';
import { sumToShape } from './reduce.js';

interface MatOperand { t: Tensor; trans: boolean; ld: number; batchStride: number; temp: boolean }

/** Describes the last two dims of `t` as a GEMM operand (rows × cols), copying only if needed. */
function operand(t: Tensor, batch: number): MatOperand {
  const nd = t.ndim;
  const rows = t.shape[nd - 2], cols = t.shape[nd - 1];
  let rs = t.strides[nd - 2], cs = t.strides[nd - 1];
  if (cols === 1) cs = 1;
  if (rows === 1) rs = Math.max(cols, 1);
  const bs = nd === 3 ? (t.shape[0] === 1 && batch !== 1 ? 0 : t.strides[0]) : 0;
  if (cs === 1 && rs >= Math.max(cols, 1)) return { t, trans: false, ld: rs, batchStride: bs, temp: false };
  if (rs === 1 && cs >= Math.max(rows, 1)) return { t, trans: true, ld: cs, batchStride: bs, temp: false };
  const c = contiguous(t);
  return { t: c, trans: false, ld: Math.max(cols, 1), batchStride: nd === 3 ? (t.shape[0] === 1 && batch !== 1 ? 0 : rows * cols) : 0, temp: c !== t };
}

/** C = A·B for A [.., M, K], B [.., K, N] with rank 2 or 3 (untracked). */
function gemm(a: Tensor, b: Tensor, dtype: DType): Tensor {
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1], N = b.shape[b.ndim - 1];
  const batchA = a.ndim === 3 ? a.shape[0] : 1, batchB = b.ndim === 3 ? b.shape[0] : 1;
  // Batch broadcasting as PyTorch: a batch of 1 (or a 2-D operand) follows the other, even 0.
  const batch = batchA === 1 ? batchB : batchA;
  const outShape = a.ndim === 3 || b.ndim === 3 ? [batch, M, N] : [M, N];
  const out = Tensor.empty(outShape, dtype, a.device);
  if (out.size === 0) return out;
  const A = operand(a, batch), B = operand(b, batch);
  native.gemm(DTYPE_CODE[dtype], A.trans, B.trans, M, N, K, 1,
    A.t.storage.handle, A.t.offset, A.ld, A.batchStride,
    B.t.storage.handle, B.t.offset, B.ld, B.batchStride,
    0, out.storage.handle, 0, N, M * N, batch);
  if (A.temp) A.t.dispose();
  if (B.temp) B.t.dispose();
  return out;
}

/**
 * Matrix product with PyTorch's rules for ranks 1–3: [M,K]·[K,N], batched [B,M,K]·[B,K,N]
 * (a batch of 1, or a 2-D operand, broadcasts), and 1-D vectors on either side.
 * @example matmul(x, w.T) // x [32, 784], w [512, 784] → [32, 512]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  let x = assertTensor(a, 'matmul', 'the first operand');
  let y = assertTensor(b, 'matmul', 'the second operand');
  sameDevice('matmul', x, y);
  requireFloat(x, 'matmul');
  requireFloat(y, 'matmul');
  if (x.ndim === 0 || y.ndim === 0) throw new ShapeError(`matmul: both operands need at least 1 dimension, received shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  if (x.ndim > 3 || y.ndim > 3) throw new ShapeError(`matmul: operands of rank 1 to 3 are supported, received shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  // Vectors become matrices and the added dim is squeezed from the result, as torch.matmul.
  const kx = x.shape[x.ndim - 1], ky = y.ndim === 1 ? y.shape[0] : y.shape[y.ndim - 2];
  if (kx !== ky)
    throw new ShapeError(`matmul: shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)} do not fit: the first has ${kx} columns, the second ${ky} rows`);
  if (x.ndim === 1 || y.ndim === 1) {
    const xv = x.ndim === 1, yv = y.ndim === 1;
    const xm = xv ? unsqueeze(x, 0) : x, ym = yv ? unsqueeze(y, -1) : y;
    let r = matmul(xm, ym);
    if (yv) r = squeeze(r, -1);
    if (xv) r = squeeze(r, r.ndim === 1 ? 0 : -2);
    return r;
  }
  const K = x.shape[x.ndim - 1];
  if (y.shape[y.ndim - 2] !== K)
    throw new ShapeError(`matmul: shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)} do not fit: the first has ${K} columns, the second ${y.shape[y.ndim - 2]} rows`);
  if (x.ndim === 3 && y.ndim === 3 && x.shape[0] !== y.shape[0] && x.shape[0] !== 1 && y.shape[0] !== 1)
    throw new ShapeError(`matmul: batch sizes ${x.shape[0]} and ${y.shape[0]} differ (shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)})`);
  const dtype = promote(x, y);
  const xc = x.dtype === dtype ? x : cast(x, dtype), yc = y.dtype === dtype ? y : cast(y, dtype);
  // [B, M, K]·[K, N] with a row-major A is one big GEMM over B·M rows.
  let out: Tensor;
  if (xc.ndim === 3 && yc.ndim === 2 && xc.isContiguous()) {
    const flat = reshape(xc, [xc.shape[0] * xc.shape[1], K]);
    const r = gemm(flat, yc, dtype);
    out = r.view([xc.shape[0], xc.shape[1], yc.shape[1]], [xc.shape[1] * yc.shape[1], yc.shape[1], 1], 0);
    r.dispose();
    flat.dispose();
  } else {
    out = gemm(xc, yc, dtype);
  }
  if (xc !== x) xc.dispose();
  if (yc !== y) yc.dispose();
  if (needsGrad(x, y)) {
    attach(out, 'matmul', [x, y], (g) => {
      const ga = x.requiresGrad ? sumToShape(matmul(g, transpose(y, -1, -2)), x.shape, x.dtype) : null;
      const gb = y.requiresGrad ? sumToShape(matmul(transpose(x, -1, -2), g), y.shape, y.dtype) : null;
      return [ga, gb];
    }, [x, y]);
  }
  return out;
}

/**
 * The affine map of a Linear layer, y = x·Wᵀ + b, as one graph node (torch.nn.functional.linear):
 * the bias is broadcast into the output and the GEMM accumulates onto it (beta = 1), the weight is
 * read transposed in place, and the backward computes dx = g·W, dW = gᵀ·x (directly in W's
 * [out, in] layout, so the optimizer gets a contiguous gradient) and db = Σ g over the rows.
 * x is [..., in] (leading dims flattened), W [out, in], b [out].
 * @example linear(x, w, b) // x [32, 784], w [512, 784], b [512] → [32, 512]
 */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const x = assertTensor(input, 'linear', 'input');
  const w = assertTensor(weight, 'linear', 'weight');
  const b = bias === null || bias === undefined ? null : assertTensor(bias, 'linear', 'bias');
  sameDevice('linear', x, w, b);
  requireFloat(x, 'linear');
  if (w.ndim !== 2) throw new ShapeError(`linear: expected a 2-D weight [out, in], received shape ${shapeStr(w.shape)}`);
  const [outF, inF] = w.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) throw new ShapeError(`linear: expected input with ${inF} features (last dimension), received shape ${shapeStr(x.shape)}`);
  if (b && (b.ndim !== 1 || b.shape[0] !== outF)) throw new ShapeError(`linear: expected a bias of shape [${outF}], received ${shapeStr(b.shape)}`);
  if (x.dtype !== w.dtype || (b && b.dtype !== w.dtype)) {
    // Mixed dtypes promote as matmul and add do (the casts carry the gradients back).
    const dt = promoteTypes(promoteTypes(x.dtype, w.dtype), b ? b.dtype : w.dtype);
    const xc = cast(x, dt), wc = cast(w, dt), bc = b ? cast(b, dt) : null;
    return linear(xc, wc, bc);
  }
  const lead = x.shape.slice(0, -1);
  const M = lead.reduce((n, d) => n * d, 1);
  const x2 = x.ndim === 2 ? x : reshape(x, [M, inF]);
  const out = Tensor.empty([...lead, outF], x.dtype, x.device);
  if (out.size) {
    const xs = operand(x2, 1);
    if (b) {
      const dst = out.view([M, outF], [outF, 1], 0), src = b.view([M, outF], [0, b.strides[0]], b.offset);
      copyStrided(dst, src);
      dst.dispose();
      src.dispose();
    }
    native.gemm(DTYPE_CODE[x.dtype], xs.trans, true, M, outF, inF, 1,
      xs.t.storage.handle, xs.t.offset, xs.ld, 0, w.storage.handle, w.offset, w.strides[0], 0,
      b ? 1 : 0, out.storage.handle, 0, outF, 0, 1);
    if (xs.temp) xs.t.dispose();
  }
  if (x2 !== x) x2.dispose();
  if (needsGrad(x, w, b)) {
    const inputs = [x, w, ...(b ? [b] : [])];
    attach(out, 'linear', inputs, (g) => {
      const g2 = g.ndim === 2 ? g : reshape(g, [M, outF]);
      const dx = x.requiresGrad ? reshape(matmul(g2, w), x.shape) : null;
      const xf = x.ndim === 2 ? x : reshape(x, [M, inF]);
      const dw = w.requiresGrad ? matmul(transpose(g2, 0, 1), xf) : null;
      const db = b && b.requiresGrad ? sumRows(g2) : null;
      return b ? [dx, dw, db] : [dx, dw];
    }, [x, w]);
  }
  return out;
}

import { sum } from './reduce.js';
import { copyStrided } from './copy.js';
function sumRows(g: Tensor): Tensor {
  return sum(g, 0);
}
