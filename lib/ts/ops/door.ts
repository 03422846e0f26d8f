/**
 * door.ts — the one door every op passes (DESIGN principle 18; as tfjs's `engine.runKernel` and
 * tinygrad's `Function.apply`). An op is a definition — its arguments, its dtype rule, its forward
 * math and its gradient rule — and `runOp` does everything else, the same way for every op:
 *
 *  1. operand checks: each argument is a live Tensor (or a number / null where the op allows it);
 *  2. device agreement: all tensor arguments on one device;
 *  3. the dtype rule: promotion (numbers are weak scalars) and the conversion of arguments, or
 *     ERR_DTYPE for an integer tensor where the op needs floating point — one rule, one code;
 *     bfloat16 / float16 arguments of an op without its own 16-bit path are computed on float32
 *     copies and the result rounded once (PyTorch's rule for its 16-bit CPU kernels); inside
 *     `amp.autocast` an op listed there first casts its floating arguments (lib/ts/amp);
 *  4. a per-op scope: every tensor the forward makes is disposed when the op ends (also when it
 *     throws), except the result and what the result's graph needs;
 *  5. the autograd record: when grad mode is on and an argument requires grad, a GradNode whose
 *     backward runs the op's rule in its own scope, reduces each gradient back over broadcast
 *     dims and converts it to its argument's dtype;
 *  6. anomaly mode: a recorded op whose output has NaN from inputs without NaN throws ERR_ANOMALY.
 *
 * Ops keep only their math: the forward calls kernels (lib/ts/core/kernels.ts, which write the
 * scratch iteration and call the binding) or other ops; the backward is written with public ops,
 * so it runs on every device.
 */
import { ArgumentError, DeviceError, DTypeError, EntrenaError, describe } from '../errors.js';
import { shapeStr } from '../check.js';
import { Tensor, closeOpScope, closeOpScopeWith, nextTensorId, openOpScope } from '../core/tensor.js';
import { broadcastStrides, copyAs, hasNaN, sumTo } from '../core/kernels.js';
import { GradNode, gradWanted, isAnomalyEnabled, isGradEnabled, setGradEnabled } from '../autograd/graph.js';
import { promoteTypes, roundHalf, sameShape, type DeviceName, type DType, type HalfDType } from '../core/dtype.js';
import { autocastState } from '../core/autocast_state.js';

/** What an argument of an op may be. */
export type Operand = Tensor | number | null;

/** How an op's arguments are described once, in its definition. */
export interface ArgSpec {
  /** The name used in messages: 'input', 'weight', 'the first operand'. */
  readonly name: string;
  /** A number is accepted (a weak scalar: it does not promote a float32 tensor to float64). */
  readonly number?: boolean;
  /** null / undefined is accepted (an absent optional tensor, e.g. a bias). */
  readonly optional?: boolean;
  /**
   * The argument carries no gradient and takes no part in the dtype rule (a condition, indices,
   * a mask): it is passed as it came and kept alive for the backward pass.
   */
  readonly noGrad?: boolean;
}

/**
 * The dtype rule of an op over its (gradient-carrying) arguments:
 * - 'promote': the common dtype (float64 > float32 > int32, numbers weak); arguments converted to it;
 * - 'float': as 'promote', but an int32 result becomes float32 (true division, exp, ...);
 * - 'floatOnly': as 'promote', but an int32 tensor argument is ERR_DTYPE (matmul, mean, softmax);
 * - 'none': no conversion; `ctx.dtype` is the first tensor argument's dtype (views, copies).
 */
export type DTypeRule = 'promote' | 'float' | 'floatOnly' | 'none';

/** What the forward and the backward of one call see. */
export interface OpContext<P> {
  readonly name: string;
  /** The arguments as the caller passed them (checked; undefined made null). */
  readonly inputs: readonly Operand[];
  /** The arguments the math runs on: `inputs` converted to `dtype` (numbers and nulls unchanged). */
  readonly args: readonly Operand[];
  readonly dtype: DType;
  readonly device: DeviceName;
  /** The op's non-tensor parameters (dims, flags, constants), as the op passed them. */
  readonly params: P;
  /** True when this call is recorded: compute what the backward needs only then. */
  readonly recording: boolean;
  /** Tensors made by the forward that the backward reads (see `save`). */
  readonly saved: Tensor[];
  /** The forward's result (set by the door once the forward returns). */
  out: Tensor;
  /** Keeps tensors made by the forward alive for the backward pass (freed with the graph). */
  save(...ts: Tensor[]): void;
}

/** An op: its name, arguments, dtype rule, forward math and gradient rule. */
export interface OpDef<P = undefined> {
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** Variadic ops (concat): every argument is described by `args[0]`, named `name[i]`. */
  readonly variadic?: boolean;
  readonly dtype?: DTypeRule;
  /** Gradients are reduced back over broadcast dims to each argument's shape (elementwise ops). */
  readonly broadcast?: boolean;
  /** The backward reads the output: keep it with the graph. */
  readonly savesOutput?: boolean;
  /**
   * For an op of one argument: its forward as a plain function of the input (already of the op's
   * dtype) and the parameters, for the calls that are not recorded and need no conversion — views,
   * one-kernel ops. It runs without a context or an op scope, so it must free whatever it makes
   * when it throws. `forward` defaults to it.
   */
  readonly direct?: (x: Tensor, params: P) => Tensor;
  /**
   * For an op of two arguments (tensors or numbers): the same, for unrecorded calls whose tensors
   * share one dtype and device and need no conversion (elementwise binary ops).
   */
  readonly direct2?: (a: Tensor | number, b: Tensor | number, params: P) => Tensor;
  /**
   * The forward handles bfloat16 / float16 itself (views, copies, the GEMM): the door passes the
   * 16-bit tensors as they are. Otherwise it computes on float32 copies and rounds the result once.
   */
  readonly half?: boolean;
  /**
   * The op's list under `amp.autocast` (PyTorch's autocast op lists): 'lower' casts float32
   * arguments to the autocast dtype (matmul, linear); 'float32' casts 16-bit arguments to float32
   * (softmax, losses, batch norm, reductions).
   */
  readonly autocast?: 'lower' | 'float32';
  forward?(ctx: OpContext<P>): Tensor;
  /**
   * Gradients of the arguments from the output's gradient `g`, one entry per argument (null or
   * omitted where none). Only the entries of arguments that require grad are used: test
   * `needsInputGrad(ctx, i)` to skip work.
   */
  backward?(g: Tensor, ctx: OpContext<P>): readonly (Tensor | null | undefined)[];
}

const NOTHING_SAVED: Tensor[] = [];
const NO_ARGS: Operand[] = [];
/** Contexts of calls that are not recorded, one per nesting level of ops inside ops. */
const pool: Context<unknown>[] = [];
let poolDepth = 0;

class Context<P> implements OpContext<P> {
  saved: Tensor[] = NOTHING_SAVED;
  out!: Tensor;
  constructor(
    public name: string,
    public inputs: Operand[],
    public args: Operand[],
    public dtype: DType,
    public device: DeviceName,
    public params: P,
    public recording: boolean,
  ) {}
  save(...ts: Tensor[]): void {
    if (this.saved === NOTHING_SAVED) this.saved = [];
    for (const t of ts) this.saved.push(t);
  }
}

/** True when argument `i` of the call is a tensor that requires grad (its gradient is wanted). */
export function needsInputGrad(ctx: OpContext<unknown>, i: number): boolean {
  const x = ctx.inputs[i];
  return x instanceof Tensor && gradWanted(x);
}

function argName(def: OpDef<unknown>, i: number): string {
  return def.variadic ? `${def.args[0].name}[${i}]` : def.args[i].name;
}
function specOf<S extends ArgSpec>(def: { readonly variadic?: boolean; readonly args: readonly S[] }, i: number): S {
  return def.variadic ? def.args[0] : def.args[i];
}

/** Checks one argument against its spec; returns it normalised (booleans as 0/1, undefined as null). */
function checkArg(def: OpDef<unknown>, i: number, v: unknown): number | null {
  const spec = specOf(def, i);
  if (spec.number) {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
  }
  if (spec.optional && (v === null || v === undefined)) return null;
  const expected = spec.number ? 'a Tensor or a number' : spec.optional ? 'a Tensor or null' : 'a Tensor';
  throw new ArgumentError(`${def.name}: expected ${argName(def, i)} to be ${expected}, received ${describe(v)}`);
}

/** An argument spec with every field present (one object shape for the door's hot loop). */
class Arg implements ArgSpec {
  readonly name: string;
  readonly number: boolean;
  readonly optional: boolean;
  readonly noGrad: boolean;
  constructor(a: ArgSpec) {
    this.name = a.name;
    this.number = a.number === true;
    this.optional = a.optional === true;
    this.noGrad = a.noGrad === true;
  }
}

/**
 * A defined op: the definition with every field present, so that all ops share one object shape
 * and the door's property reads stay monomorphic (a megamorphic read costs more than a small op's
 * kernel call).
 */
export class Op<P = undefined> implements OpDef<P> {
  readonly name: string;
  readonly args: readonly Arg[];
  readonly variadic: boolean;
  readonly dtype: DTypeRule;
  readonly broadcast: boolean;
  readonly savesOutput: boolean;
  readonly direct: ((x: Tensor, params: P) => Tensor) | undefined;
  readonly direct2: ((a: Tensor | number, b: Tensor | number, params: P) => Tensor) | undefined;
  /** One argument that carries a gradient: `runOp1` may take its fast path. */
  readonly single: boolean;
  /** The dtype rule leaves an int32 argument as it is ('promote', 'none'). */
  readonly keepsInt: boolean;
  readonly half: boolean;
  /** Its autocast list: 0 none, 1 'lower', 2 'float32'. */
  readonly amp: 0 | 1 | 2;
  readonly forward: (ctx: OpContext<P>) => Tensor;
  readonly backward: ((g: Tensor, ctx: OpContext<P>) => readonly (Tensor | null | undefined)[]) | undefined;
  constructor(def: OpDef<P>) {
    this.name = def.name;
    this.args = def.args.map((a) => new Arg(a));
    this.variadic = def.variadic === true;
    this.dtype = def.dtype ?? 'promote';
    this.broadcast = def.broadcast === true;
    this.savesOutput = def.savesOutput === true;
    const direct = def.direct;
    this.direct = direct;  // (always present, maybe undefined: one object shape for every op)
    this.single = def.args.length === 1 && def.variadic !== true && def.args[0].noGrad !== true;
    this.keepsInt = this.dtype === 'promote' || this.dtype === 'none';
    this.half = def.half === true;
    this.amp = def.autocast === 'lower' ? 1 : def.autocast === 'float32' ? 2 : 0;
    this.direct2 = def.args.length === 2 && !def.variadic && !def.args.some((a) => a.noGrad) ? def.direct2 : undefined;
    if (def.forward) this.forward = def.forward;
    else if (direct) this.forward = (c) => direct(c.args[0] as Tensor, c.params);
    else throw new EntrenaError('ERR_INTERNAL', `defineOp: '${def.name}' has neither forward nor direct`);
    this.backward = def.backward;
  }
}

const registry = new Map<string, Op<never>>();

/**
 * Defines an op: registers it under its name (one name, one op) and returns the form `runOp`
 * takes. The registry is how the tests know every op: the gradient-check suite fails when a
 * differentiable op has no case.
 * @example const NEG = defineOp({ name: 'neg', args: [{ name: 'input' }], forward: ..., backward: (g) => [neg(g)] });
 */
export function defineOp<P = undefined>(def: OpDef<P>): Op<P> {
  if (registry.has(def.name)) throw new EntrenaError('ERR_INTERNAL', `defineOp: an op named '${def.name}' is already defined`);
  const op = new Op(def);
  registry.set(def.name, op as unknown as Op<never>);
  return op;
}

/** Every op defined so far, with whether it has a gradient rule. @example registeredOps().filter((o) => o.differentiable) */
export function registeredOps(): { name: string; differentiable: boolean }[] {
  return [...registry.values()].map((d) => ({ name: d.name, differentiable: d.backward !== undefined }));
}

/**
 * Runs one op through the door: checks, dtype rule, forward in a per-op scope, autograd record.
 * @example
 * const ADD: OpDef = { name: 'add', args: [A, B], broadcast: true,
 *   forward: (c) => binary('add', c.args[0]!, c.args[1]!, 0, 0, c.dtype), backward: (g) => [g, g] };
 * runOp(ADD, [a, b], undefined);
 */
export function runOp<P>(def: Op<P>, inputs: unknown[], params: P): Tensor {
  if (def.amp !== 0 && autocastState.dtype !== null) return runAutocast(def, inputs, params);
  return runChecked(def, inputs, params);
}

function runChecked<P>(def: Op<P>, inputs: unknown[], params: P): Tensor {
  const n = inputs.length;
  const variadic = def.variadic;
  if (!variadic && n !== def.args.length) throw new EntrenaError('ERR_INTERNAL', `${def.name}: the door got ${n} arguments for ${def.args.length}`);
  // The op functions pass a fresh array, which the door normalises in place; a variadic op's
  // array is the caller's own, so it gets a copy.
  const checked = (variadic ? inputs.slice() : inputs) as Operand[];
  let device: DeviceName | null = null;
  let dtype: DType | null = null;
  let anyTensor = false, wantsGrad = false, weakFloat = false, converts = false;
  const rule = def.dtype;
  for (let i = 0; i < n; i++) {
    const v = checked[i];
    const spec = specOf(def, i);
    let x: Tensor;
    if (v instanceof Tensor) {
      x = v;
      if (x.isDisposed) x.assertAlive(def.name);
    } else {
      const o = checkArg(def as OpDef<unknown>, i, v);
      checked[i] = o;
      if (o !== null && !Number.isInteger(o)) weakFloat = true;
      continue;
    }
    if (device === null) device = x.device;
    else if (x.device !== device)
      throw new DeviceError(`${def.name}: expected all tensors on the same device, received tensors on ${device} and ${x.device}; move one with .to('${device}')`);
    if (spec.noGrad) continue;
    if (x.requiresGrad) wantsGrad = true;
    const xd = x.dtype;
    if (rule === 'floatOnly' && xd === 'int32')
      throw new DTypeError(`${def.name}: expected ${argName(def as OpDef<unknown>, i)} to be a floating-point tensor (float32, float64, bfloat16 or float16), received int32`);
    if (!anyTensor) { dtype = xd; anyTensor = true; }
    else if (xd !== dtype) {
      converts = true;
      dtype = promoteTypes(dtype!, xd);
    }
  }
  if (device === null) throw new ArgumentError(`${def.name}: expected at least one tensor argument, received ${checked.map((x) => describe(x)).join(' and ')}`);
  // Only numbers carry the values (where(cond, 1, 0)): they compute in float32, as numbers alone do.
  if (!anyTensor) dtype = 'float32';
  if (dtype === 'int32' && (weakFloat || rule === 'float')) { dtype = 'float32'; converts = true; }

  const recording = wantsGrad && def.backward !== undefined && isGradEnabled();
  // 16-bit arguments of an op without its own 16-bit path: the math runs on float32 copies.
  const upcast = !def.half && (dtype === 'bfloat16' || dtype === 'float16');
  const cdt: DType = upcast ? 'float32' : dtype!;
  const convert = (converts && rule !== 'none') || upcast;
  if (!recording && !convert) return runUnrecorded(def, checked, checked, dtype!, device, params);
  const firstId = nextTensorId();
  const mark = openOpScope();
  let ctx: Context<P>;
  let out: Tensor;
  try {
    let args = checked;
    if (convert) {
      args = checked.slice();
      for (let i = 0; i < n; i++) {
        const x = checked[i];
        if (x instanceof Tensor) { if (x.dtype !== cdt && !specOf(def, i).noGrad) args[i] = copyAs(x, cdt); }
        // A number beside 16-bit tensors takes their dtype first, as PyTorch's CPU ops do.
        else if (upcast && typeof x === 'number') args[i] = roundHalf(x, dtype as HalfDType);
      }
    }
    if (!recording) {
      // The converted copies are this scope's: the inner call's scope keeps only its result.
      out = runUnrecorded(def, checked, args, cdt, device, params);
      if (upcast && out.dtype === 'float32') out = copyAs(out, dtype!);
      closeOpScopeWith(mark, out);
      return out;
    }
    // The node keeps this context for the backward; the forward's own ops must not record.
    ctx = new Context(def.name, checked, args, cdt, device, params, recording);
    const prev = setGradEnabled(false);
    try {
      out = def.forward(ctx);
      if (upcast && out.dtype === 'float32') out = copyAs(out, dtype!);
    } catch (e) { setGradEnabled(prev); throw e; }
    setGradEnabled(prev);
  } catch (e) {
    closeOpScope(mark, null);
    throw e;
  }
  // An op may answer with one of its inputs (cast to the same dtype): nothing to record then.
  if (recording && out._id >= firstId) {
    ctx.out = out;
    ctx.args = checked; // the converted copies are not needed by the backward
    // The node's inputs are the gradient-carrying tensors; the no-grad ones (indices, masks) the
    // backward reads are saved, with the output when the rule reads it and the forward's extras.
    const nodeInputs = new Array<Tensor | null>(n);
    const saved: Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const x = checked[i];
      const t = x instanceof Tensor ? x : null;
      const noGrad = specOf(def, i).noGrad;
      nodeInputs[i] = t && !noGrad ? t : null;
      if (t && noGrad) saved.push(t);
    }
    if (def.savesOutput) saved.push(out);
    for (const s of ctx.saved) saved.push(s);
    if (isAnomalyEnabled()) checkForward(def.name, out, checked);
    out._setGradFn(new GradNode(def.name, nodeInputs, backwardOf(def, ctx), saved));
  }
  closeOpScopeWith(mark, out);
  return out;
}

/** One-element argument arrays of unrecorded one-argument calls, one per nesting level. */
const singles: Operand[][] = [];

/**
 * `runOp(def, [a], params)` for an op of one argument, without the array: the most frequent call
 * (unary ops, views, reductions; inference and optimizer code), which when it is not recorded and
 * needs no conversion also skips the argument loop and the dtype rule — what they would decide is
 * already known from the one tensor. Same checks, same errors, same result as `runOp`.
 * @example export function relu(a: Tensor): Tensor { return runOp1(RELU, a, NO_PARAMS); }
 */
export function runOp1<P>(def: Op<P>, a: unknown, params: P): Tensor {
  if (def.single && a instanceof Tensor && !a.requiresGrad && (def.amp === 0 || autocastState.dtype === null)) {
    if (a.isDisposed) a.assertAlive(def.name);
    const dtype = a.dtype;
    // int32 where the op computes in (or needs) floating point, 16-bit values where the op
    // computes in float32: the general path converts or refuses.
    if (dtype === 'float32' || dtype === 'float64' || (dtype === 'int32' ? def.keepsInt : def.half)) {
      // No context, no scope: the op's plain function (it frees what it makes if it throws).
      if (def.direct !== undefined) return def.direct(a, params);
      const one = singles[poolDepth] ??= [null];
      one[0] = a;
      const out = runUnrecorded(def, one, one, dtype, a.device, params);
      one[0] = null;  // (after a throw the next call at this level overwrites it)
      return out;
    }
  }
  return runOp(def, [a], params);
}

/**
 * `runOp(def, [a, b], params)` for an op of two arguments. Calls that are not recorded and need no
 * conversion — the tensors share one dtype and device, a number is a weak scalar that leaves the
 * dtype as it is — go straight to the op's `direct2`; the others take the general path.
 * @example export function add(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(ADD, a, b, undefined); }
 */
export function runOp2<P>(def: Op<P>, a: unknown, b: unknown, params: P): Tensor {
  const direct = def.direct2;
  if (direct !== undefined && (def.amp === 0 || autocastState.dtype === null)) {
    if (a instanceof Tensor) {
      if (b instanceof Tensor) {
        if (!a.requiresGrad && !b.requiresGrad && !a.isDisposed && !b.isDisposed && a.dtype === b.dtype
          && a.storage.device === b.storage.device && plainDtype(def, a.dtype, 0)) return direct(a, b, params);
      } else if (typeof b === 'number' && def.args[1].number && !a.requiresGrad && !a.isDisposed && plainDtype(def, a.dtype, b)) {
        return direct(a, b, params);
      }
    } else if (typeof a === 'number' && def.args[0].number && b instanceof Tensor && !b.requiresGrad && !b.isDisposed && plainDtype(def, b.dtype, a)) {
      return direct(a, b, params);
    }
  }
  return runOp(def, [a, b], params);
}
/**
 * True when the dtype rule leaves `dtype` as it is with the number `n` beside it (0: none) and the
 * op computes in it.
 */
function plainDtype(def: { readonly dtype: DTypeRule; readonly half: boolean }, dtype: DType, n: number): boolean {
  if (dtype === 'float32' || dtype === 'float64') return true;
  if (dtype === 'int32') return def.dtype === 'promote' && Number.isInteger(n);
  return def.half;
}

/**
 * An op on an autocast list, inside `amp.autocast`: its floating tensor arguments on the autocast
 * device are cast (recorded casts, so that gradients reach float32 parameters in float32), then
 * the op runs as usual; the casts are freed with the op's scope unless the graph needs them.
 * float64 arguments are left alone, as PyTorch's autocast does.
 */
function runAutocast<P>(def: Op<P>, inputs: unknown[], params: P): Tensor {
  const { device, dtype } = autocastState;
  const mark = openOpScope();
  let out: Tensor;
  try {
    const cast = inputs.slice();
    for (let i = 0; i < cast.length; i++) {
      const x = cast[i];
      if (!(x instanceof Tensor) || x.device !== device || specOf(def, i).noGrad || x.isDisposed) continue;
      if (def.amp === 2) { cast[i] = autocastFloat32(x); continue; }
      // 'lower': float32 and the other 16-bit dtype are cast (float64 and int32 are not).
      const xd = x.dtype;
      if (xd !== dtype && (xd === 'float32' || xd === 'bfloat16' || xd === 'float16')) cast[i] = castTo(x, dtype!);
    }
    out = runChecked(def, cast, params);
  } catch (e) {
    closeOpScope(mark, null);
    throw e;
  }
  closeOpScopeWith(mark, out);
  return out;
}

/**
 * The forward of a call that is not recorded, in its own op scope, with a pooled context (nothing
 * keeps the context after the forward: one per nesting level of ops inside ops).
 */
function runUnrecorded<P>(def: Op<P>, inputs: Operand[], args: Operand[], dtype: DType, device: DeviceName, params: P): Tensor {
  const mark = openOpScope();
  const ctx = (pool[poolDepth] ??= new Context<unknown>('', NO_ARGS, NO_ARGS, 'float32', 'cpu', undefined, false)) as Context<P>;
  ctx.name = def.name; ctx.inputs = inputs; ctx.args = args; ctx.dtype = dtype; ctx.device = device;
  ctx.params = params; ctx.recording = false; ctx.saved = NOTHING_SAVED;
  poolDepth++;
  let out: Tensor;
  // try/catch without `finally`: the clean-up is written out on both paths (cheaper in V8 than a
  // finally block on this path, which every unrecorded op call takes).
  try {
    out = def.forward(ctx);
  } catch (e) {
    poolDepth--;
    ctx.inputs = ctx.args = NO_ARGS;
    ctx.params = undefined as P;
    closeOpScope(mark, null);
    throw e;
  }
  poolDepth--;
  ctx.inputs = ctx.args = NO_ARGS;
  ctx.params = undefined as P;
  closeOpScopeWith(mark, out);
  return out;
}

function checkForward(name: string, out: Tensor, inputs: readonly Operand[]): void {
  if (!hasNaN(out)) return;
  for (const t of inputs) if (t instanceof Tensor && hasNaN(t)) return; // NaN came in: not produced here
  throw new EntrenaError('ERR_ANOMALY', `anomaly: '${name}' produced NaN in the forward pass (output shape ${shapeStr(out.shape)}) from inputs without NaN`);
}

/** The node's backward: the op's rule in its own scope, gradients shaped and typed as their arguments. */
function backwardOf<P>(def: Op<P>, ctx: Context<P>): (g: Tensor) => (Tensor | null)[] {
  return (g) => {
    const mark = openOpScope();
    const n = ctx.inputs.length;
    const res = new Array<Tensor | null>(n).fill(null);
    try {
      const raw = def.backward!(g, ctx);
      for (let i = 0; i < n; i++) {
        const x = ctx.inputs[i];
        let gi = raw[i];
        if (!(x instanceof Tensor) || !gi || !x.requiresGrad || specOf(def, i).noGrad) continue;
        // Recorded (differentiable ops) when the backward itself is recorded (createGraph), plain
        // kernels otherwise.
        const rec = isGradEnabled();
        if (def.broadcast && !sameShape(gi.shape, x.shape)) gi = rec ? sumToShape(gi, x.shape) : sumTo(gi, x.shape);
        if (gi.dtype !== x.dtype) gi = rec ? castTo(gi, x.dtype) : copyAs(gi, x.dtype);
        res[i] = gi;
      }
    } catch (e) {
      closeOpScope(mark, null);
      throw e;
    }
    closeOpScope(mark, res);
    return res;
  };
}

// ---- the conversions the door applies to gradients, as ops (so that they record under createGraph)

const ONE_INPUT: readonly ArgSpec[] = [{ name: 'input' }];

// Reduction over broadcast dims and its adjoint, the broadcast view: each is the other's gradient.
const SUM_TO = defineOp<readonly number[]>({
  name: 'sumToShape', args: ONE_INPUT, dtype: 'none',
  forward: (c) => sumTo(c.args[0] as Tensor, c.params.slice()),
  backward: (g, c) => [broadcastTo(g, (c.inputs[0] as Tensor).shape)],
});
const BROADCAST_TO = defineOp<readonly number[]>({
  name: 'broadcastTo', args: ONE_INPUT, dtype: 'none', half: true,
  direct: (x, target) => {
    const shape = target.slice();
    return new Tensor(x.storage, shape, broadcastStrides(x, shape), x.offset, x.dtype);
  },
  backward: (g, c) => [sumToShape(g, (c.inputs[0] as Tensor).shape)],
});
const CAST = defineOp<DType>({
  name: 'cast', args: ONE_INPUT, dtype: 'none', half: true,
  forward: (c) => copyAs(c.args[0] as Tensor, c.params),
  // The door converts the gradient back to the source dtype.
  backward: (g) => [g],
});

/**
 * Sums `t` down to `shape` (the reverse of broadcasting: leading dims and dims of size 1 in
 * `shape`); `t` itself when nothing changes. @example sumToShape(g, bias.shape)
 */
export function sumToShape(t: Tensor, shape: readonly number[]): Tensor {
  return runOp1(SUM_TO, t, shape);
}
/** A broadcast view of `t` as `shape` (the shapes must broadcast; no check). @example broadcastTo(g, x.shape) */
export function broadcastTo(t: Tensor, shape: readonly number[]): Tensor {
  return runOp1(BROADCAST_TO, t, shape);
}
/** `t` converted to `dtype`, recorded; the cast op of lib/ts/ops/copy.ts. @example castTo(g, 'float32') */
export function castTo(t: Tensor, dtype: DType): Tensor {
  return runOp1(CAST, t, dtype);
}

/**
 * `t` cast to float32 (recorded) when it is a 16-bit tensor on the device of an active
 * `amp.autocast`, else `t`: composite ops on autocast's float32 list (the losses, layerNorm)
 * call it on their inputs. @example const p = autocastFloat32(prediction)
 */
export function autocastFloat32(t: Tensor): Tensor {
  if (autocastState.dtype === null || (t.dtype !== 'bfloat16' && t.dtype !== 'float16') || t.device !== autocastState.device) return t;
  return castTo(t, 'float32');
}

/**
 * Runs a composite op — one made of other ops, whose gradient comes from theirs (std, layerNorm,
 * stack): `fn`'s temporaries are disposed when it ends (also when it throws), except the result
 * and what the result's graph needs.
 * @example export const std = (x, dim) => composite(() => sqrt(variance(x, dim)));
 */
export function composite<T extends Tensor>(fn: () => T): T {
  const mark = openOpScope();
  let out: T;
  try {
    out = fn();
  } catch (e) {
    closeOpScope(mark, null);
    throw e;
  }
  closeOpScopeWith(mark, out);
  return out;
}
