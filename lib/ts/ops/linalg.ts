/**
 * linalg.ts — matmul (2-D, batched 3-D with batch broadcast, and vector cases) and the fused affine
 * map `linear`, on the native GEMM.
 *
 * Transposed operands are passed to GEMM as transpose flags with their leading dimension, never
 * copied: `x.matmul(w.T)` in a Linear layer reads w in place. Only a view that is neither row- nor
 * column-major (a strided slice) is made contiguous first (core/kernels.ts matOperand).
 */
import { ShapeError } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor } from '../core/tensor.js';
import { copyStrided, gemm, matOperand, matmulDirect } from '../core/kernels.js';
import { composite, defineOp, needsInputGrad, runOp, runOp2, type OpDef } from './door.js';
import { reshape, transpose, unsqueeze } from './shape.js';
import { sum } from './reduce.js';

/** C = A·B for A [.., M, K], B [.., K, N] of rank 2 or 3 (the operands already checked). */
function product(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1], N = b.shape[b.ndim - 1];
  // [B, M, K]·[K, N] with a row-major A is one big GEMM over B·M rows.
  if (a.ndim === 3 && b.ndim === 2 && a.isContiguous()) {
    const rows = a.shape[0] * M;
    const out = Tensor.empty([a.shape[0], M, N], a.dtype, a.device);
    if (out.size) gemm(matOperand(a.view([rows, K], [K, 1], a.offset), 1), matOperand(b, 1), rows, N, K, 1, 0, out, N, 0, 1);
    return out;
  }
  const batchA = a.ndim === 3 ? a.shape[0] : 1, batchB = b.ndim === 3 ? b.shape[0] : 1;
  // Batch broadcasting as PyTorch: a batch of 1 (or a 2-D operand) follows the other, even 0.
  const batch = batchA === 1 ? batchB : batchA;
  const out = Tensor.empty(a.ndim === 3 || b.ndim === 3 ? [batch, M, N] : [M, N], a.dtype, a.device);
  if (out.size) gemm(matOperand(a, batch), matOperand(b, batch), M, N, K, 1, 0, out, N, M * N, batch);
  return out;
}

/**
 * [M, K]·[K, N], unrecorded: straight to the GEMM without an op scope when both operands are read
 * in place (the most frequent call); otherwise (strided views, TF32) `product` in a scope of its
 * own, which frees the operand copies. A shape mismatch takes the forward's message.
 */
function matmul2d(x: Tensor, y: Tensor): Tensor {
  if (y.shape[0] !== x.shape[1]) return matmulForward(x, y);
  return matmulDirect(x, y) ?? composite(() => product(x, y));
}

/** matmul's forward: the shape rules of torch.matmul for ranks 1 to 3, then one (batched) GEMM. */
function matmulForward(x: Tensor, y: Tensor): Tensor {
  if (x.ndim === 0 || y.ndim === 0) throw new ShapeError(`matmul: both operands need at least 1 dimension, received shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  if (x.ndim > 3 || y.ndim > 3) throw new ShapeError(`matmul: operands of rank 1 to 3 are supported, received shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`);
  const kx = x.shape[x.ndim - 1], ky = y.ndim === 1 ? y.shape[0] : y.shape[y.ndim - 2];
  if (kx !== ky)
    throw new ShapeError(`matmul: shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)} do not fit: the first has ${kx} columns, the second ${ky} rows`);
  if (x.ndim === 3 && y.ndim === 3 && x.shape[0] !== y.shape[0] && x.shape[0] !== 1 && y.shape[0] !== 1)
    throw new ShapeError(`matmul: batch sizes ${x.shape[0]} and ${y.shape[0]} differ (shapes ${shapeStr(x.shape)} and ${shapeStr(y.shape)})`);
  // Vectors become matrices and the added dim is dropped from the result, as torch.matmul.
  const xm = x.ndim === 1 ? x.view([1, kx], [0, x.strides[0]], x.offset) : x;
  const ym = y.ndim === 1 ? y.view([ky, 1], [y.strides[0], 0], y.offset) : y;
  const r = product(xm, ym);
  if (x.ndim > 1 && y.ndim > 1) return r;
  const shape = r.shape.filter((_, i) => !((x.ndim === 1 && i === r.ndim - 2) || (y.ndim === 1 && i === r.ndim - 1)));
  return reshape(r, shape);
}

const MATMUL = defineOp({
  name: 'matmul', args: [{ name: 'the first operand' }, { name: 'the second operand' }], dtype: 'floatOnly', broadcast: true,
  // bfloat16 / float16 go to the GEMM as they are (converted while packing, float32 accumulation).
  autocast: 'lower', half: true,
  forward: (c) => matmulForward(c.args[0] as Tensor, c.args[1] as Tensor),
  // Unrecorded calls on two float tensors of one dtype: two matrices go straight to the GEMM (the
  // most frequent call); other ranks run the forward in a scope of its own (it makes views).
  direct2: (x, y) => (x as Tensor).ndim === 2 && (y as Tensor).ndim === 2
    ? matmul2d(x as Tensor, y as Tensor) : composite(() => matmulForward(x as Tensor, y as Tensor)),
  // Vector operands: the rules below see them as matrices (unsqueezed); the door sums the batch
  // dims of a broadcast operand back to its shape.
  backward: (g, c) => {
    const x = c.inputs[0] as Tensor, y = c.inputs[1] as Tensor;
    const xm = x.ndim === 1 ? unsqueeze(x, 0) : x, ym = y.ndim === 1 ? unsqueeze(y, -1) : y;
    let gm = g;
    if (y.ndim === 1) gm = unsqueeze(gm, -1);
    if (x.ndim === 1) gm = unsqueeze(gm, -2);
    const gx = needsInputGrad(c, 0) ? matmul(gm, transpose(ym, -1, -2)) : null;
    const gy = needsInputGrad(c, 1) ? matmul(transpose(xm, -1, -2), gm) : null;
    return [gx && x.ndim === 1 ? reshape(gx, gx.ndim === 3 ? [gx.shape[0], x.shape[0]] : x.shape) : gx,
      gy && y.ndim === 1 ? reshape(gy, gy.ndim === 3 ? [gy.shape[0], y.shape[0]] : y.shape) : gy];
  },
});

/**
 * Matrix product with PyTorch's rules for ranks 1–3: [M,K]·[K,N], batched [B,M,K]·[B,K,N]
 * (a batch of 1, or a 2-D operand, broadcasts), and 1-D vectors on either side.
 * @example matmul(x, w.T) // x [32, 784], w [512, 784] → [32, 512]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return runOp2(MATMUL, a, b, undefined);
}

const LINEAR = defineOp({
  name: 'linear', args: [{ name: 'input' }, { name: 'weight' }, { name: 'bias', optional: true }], dtype: 'floatOnly',
  autocast: 'lower', half: true,
  forward: (c) => {
    const [x, w, b] = c.args as [Tensor, Tensor, Tensor | null];
    if (w.ndim !== 2) throw new ShapeError(`linear: expected a 2-D weight [out, in], received shape ${shapeStr(w.shape)}`);
    const [outF, inF] = w.shape;
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) throw new ShapeError(`linear: expected input with ${inF} features (last dimension), received shape ${shapeStr(x.shape)}`);
    if (b && (b.ndim !== 1 || b.shape[0] !== outF)) throw new ShapeError(`linear: expected a bias of shape [${outF}], received ${shapeStr(b.shape)}`);
    const lead = x.shape.slice(0, -1);
    const M = lead.reduce((n, d) => n * d, 1);
    const out = Tensor.empty([...lead, outF], c.dtype, c.device);
    if (!out.size) return out;
    const x2 = x.ndim === 2 ? x : reshape(x, [M, inF]);
    const out2 = out.view([M, outF], [outF, 1], 0);
    // The bias is broadcast into the output and the GEMM accumulates onto it (beta = 1).
    if (b) copyStrided(out2, b.view([M, outF], [0, b.strides[0]], b.offset));
    gemm(matOperand(x2, 1), { t: w, trans: true, ld: w.strides[0], batchStride: 0 }, M, outF, inF, 1, b ? 1 : 0, out2, outF, 0, 1);
    return out;
  },
  // dx = g·W, dW = gᵀ·x (directly in W's [out, in] layout, so the optimizer gets a contiguous
  // gradient) and db = Σ g over the rows.
  backward: (g, c) => {
    const [x, w] = c.inputs as [Tensor, Tensor];
    const [outF, inF] = w.shape;
    const g2 = g.ndim === 2 ? g : reshape(g, [g.size / outF, outF]);
    return [
      needsInputGrad(c, 0) ? reshape(matmul(g2, w), x.shape) : null,
      needsInputGrad(c, 1) ? matmul(transpose(g2, 0, 1), x.ndim === 2 ? x : reshape(x, [g2.shape[0], inF])) : null,
      needsInputGrad(c, 2) ? sum(g2, 0) : null,
    ];
  },
});

/**
 * The affine map of a Linear layer, y = x·Wᵀ + b, as one graph node (torch.nn.functional.linear):
 * x is [..., in] (leading dims flattened), W [out, in], b [out]; mixed dtypes promote.
 * @example linear(x, w, b) // x [32, 784], w [512, 784], b [512] → [32, 512]
 */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return runOp(LINEAR, [input, weight, bias], undefined);
}

