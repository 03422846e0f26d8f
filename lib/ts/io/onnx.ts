/**
 * onnx.ts — exports an `nn.Sequential` (or a single supported layer) to an ONNX model file for
 * inference: `exportOnnx(model, path, { inputShape, opset })`, and `serializeOnnx` for the bytes.
 * It is not an importer and does not trace arbitrary modules: each layer class maps to a fixed
 * ONNX op (or a short composition of standard ops), in eval semantics (as torch.onnx.export's
 * default): BatchNorm1d uses its running statistics, dropout is the identity.
 *
 * Encoding is protobufjs over the subset of ONNX's own schema embedded below (ONNX_SCHEMA,
 * generated from onnx.proto by scripts/onnx_schema.mjs, field numbers unchanged). Weights are
 * written as raw little-endian float32 initializers under their state-dict names ("0.weight").
 *
 * How it was checked: test/onnx.test.ts runs every exported model in onnxruntime-node (Microsoft's
 * runtime) at batch sizes 1 and 7 against our eval-mode forward (float32, 1e-5), and runs
 * `onnx.checker.check_model` (Debian's python3-onnx, when installed) on an exported file.
 */
import protobuf from 'protobufjs';
import { noGrad } from '../autograd/engine.js';
import { shapeStr } from '../check.js';
import { ArgumentError, DTypeError, ShapeError, describe } from '../errors.js';
import { LeakyReLU, ReLU, PReLU, RReLU, ELU, SELU, GELU, SiLU, Mish, Sigmoid, Tanh, Hardtanh, LogSigmoid, Softplus, Softmax, LogSoftmax } from '../nn/activations.js';
import { AlphaDropout, BatchNorm1d, Dropout, Flatten, Identity, LayerNorm, Linear, Sequential } from '../nn/layers.js';
import { Module, checkOptions } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { writeAtomic } from './safetensors.js';

/** The messages of onnx.proto (ONNX 1.12, IR 8) that the exporter writes, as protobufjs JSON. */
const ONNX_SCHEMA = {
  ModelProto: {"edition":"proto2","fields":{"ir_version":{"type":"int64","id":1},"opset_import":{"rule":"repeated","type":"OperatorSetIdProto","id":8},"producer_name":{"type":"string","id":2},"producer_version":{"type":"string","id":3},"domain":{"type":"string","id":4},"model_version":{"type":"int64","id":5},"doc_string":{"type":"string","id":6},"graph":{"type":"GraphProto","id":7},"metadata_props":{"rule":"repeated","type":"StringStringEntryProto","id":14}}},
  GraphProto: {"edition":"proto2","fields":{"node":{"rule":"repeated","type":"NodeProto","id":1},"name":{"type":"string","id":2},"initializer":{"rule":"repeated","type":"TensorProto","id":5},"doc_string":{"type":"string","id":10},"input":{"rule":"repeated","type":"ValueInfoProto","id":11},"output":{"rule":"repeated","type":"ValueInfoProto","id":12},"value_info":{"rule":"repeated","type":"ValueInfoProto","id":13}},"reserved":[[3,3],[4,4],[6,9],"ir_version","producer_version","producer_tag","domain"]},
  NodeProto: {"edition":"proto2","fields":{"input":{"rule":"repeated","type":"string","id":1},"output":{"rule":"repeated","type":"string","id":2},"name":{"type":"string","id":3},"op_type":{"type":"string","id":4},"domain":{"type":"string","id":7},"attribute":{"rule":"repeated","type":"AttributeProto","id":5},"doc_string":{"type":"string","id":6}}},
  AttributeProto: {"edition":"proto2","fields":{"name":{"type":"string","id":1},"ref_attr_name":{"type":"string","id":21},"doc_string":{"type":"string","id":13},"type":{"type":"AttributeType","id":20},"f":{"type":"float","id":2},"i":{"type":"int64","id":3},"s":{"type":"bytes","id":4},"t":{"type":"TensorProto","id":5},"g":{"type":"GraphProto","id":6},"floats":{"rule":"repeated","type":"float","id":7},"ints":{"rule":"repeated","type":"int64","id":8},"strings":{"rule":"repeated","type":"bytes","id":9},"tensors":{"rule":"repeated","type":"TensorProto","id":10},"graphs":{"rule":"repeated","type":"GraphProto","id":11},"type_protos":{"rule":"repeated","type":"TypeProto","id":15}},"nested":{"AttributeType":{"values":{"UNDEFINED":0,"FLOAT":1,"INT":2,"STRING":3,"TENSOR":4,"GRAPH":5,"SPARSE_TENSOR":11,"TYPE_PROTO":13,"FLOATS":6,"INTS":7,"STRINGS":8,"TENSORS":9,"GRAPHS":10,"SPARSE_TENSORS":12,"TYPE_PROTOS":14}}}},
  TensorProto: {"edition":"proto2","fields":{"dims":{"rule":"repeated","type":"int64","id":1},"data_type":{"type":"int32","id":2},"float_data":{"rule":"repeated","type":"float","id":4,"options":{"packed":true}},"int32_data":{"rule":"repeated","type":"int32","id":5,"options":{"packed":true}},"string_data":{"rule":"repeated","type":"bytes","id":6},"int64_data":{"rule":"repeated","type":"int64","id":7,"options":{"packed":true}},"name":{"type":"string","id":8},"doc_string":{"type":"string","id":12},"raw_data":{"type":"bytes","id":9},"external_data":{"rule":"repeated","type":"StringStringEntryProto","id":13},"data_location":{"type":"DataLocation","id":14},"double_data":{"rule":"repeated","type":"double","id":10,"options":{"packed":true}},"uint64_data":{"rule":"repeated","type":"uint64","id":11,"options":{"packed":true}}},"nested":{"DataType":{"values":{"UNDEFINED":0,"FLOAT":1,"UINT8":2,"INT8":3,"UINT16":4,"INT16":5,"INT32":6,"INT64":7,"STRING":8,"BOOL":9,"FLOAT16":10,"DOUBLE":11,"UINT32":12,"UINT64":13,"COMPLEX64":14,"COMPLEX128":15,"BFLOAT16":16}},"DataLocation":{"values":{"DEFAULT":0,"EXTERNAL":1}}}},
  ValueInfoProto: {"edition":"proto2","fields":{"name":{"type":"string","id":1},"type":{"type":"TypeProto","id":2},"doc_string":{"type":"string","id":3}}},
  TypeProto: {"edition":"proto2","oneofs":{"value":{"oneof":["tensor_type"]}},"fields":{"tensor_type":{"type":"Tensor","id":1},"denotation":{"type":"string","id":6}},"nested":{"Tensor":{"fields":{"elem_type":{"type":"int32","id":1},"shape":{"type":"TensorShapeProto","id":2}}}}},
  TensorShapeProto: {"edition":"proto2","fields":{"dim":{"rule":"repeated","type":"Dimension","id":1}},"nested":{"Dimension":{"oneofs":{"value":{"oneof":["dim_value","dim_param"]}},"fields":{"dim_value":{"type":"int64","id":1},"dim_param":{"type":"string","id":2},"denotation":{"type":"string","id":3}}}}},
  OperatorSetIdProto: {"edition":"proto2","fields":{"domain":{"type":"string","id":1},"version":{"type":"int64","id":2}}},
  StringStringEntryProto: {"edition":"proto2","fields":{"key":{"type":"string","id":1},"value":{"type":"string","id":2}}},
};

let modelType: protobuf.Type | null = null;
/** The ModelProto type, built once from ONNX_SCHEMA on first use. */
function onnxModelType(): protobuf.Type {
  if (!modelType) modelType = protobuf.Root.fromJSON({ nested: { onnx: { nested: ONNX_SCHEMA } } } as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

const FLOAT = 1;   // TensorProto.DataType.FLOAT
const INT64 = 7;   // TensorProto.DataType.INT64
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType
/** Opsets accepted: from 13 (Softmax/LogSoftmax per axis, Clip bounds as inputs) to 21 (IR 10). */
const MIN_OPSET = 13, MAX_OPSET = 21;
/** The IR version that goes with an opset (onnx/helper.py's VERSION_TABLE). */
const irVersionFor = (opset: number): number => (opset <= 18 ? 8 : opset <= 20 ? 9 : 10);

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Shape of one input, batch first; `null` as the first entry makes the batch dimension dynamic ("batch"). */
  inputShape: (number | null)[];
  /** ONNX opset, 13…21 (default 17; LayerNorm needs ≥ 17). */
  opset?: number;
  /** Graph input name (default 'input'). */
  inputName?: string;
  /** Graph output name (default 'output'). */
  outputName?: string;
}

type Shape = (number | null)[];
interface Attribute { name: string; type: number; f?: number; i?: number; ints?: number[] }
interface Node { name: string; op_type: string; input: string[]; output: string[]; attribute: Attribute[] }
interface Initializer { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }

const attrF = (name: string, f: number): Attribute => ({ name, type: ATTR_FLOAT, f });
const attrI = (name: string, i: number): Attribute => ({ name, type: ATTR_INT, i });
const attrInts = (name: string, ints: number[]): Attribute => ({ name, type: ATTR_INTS, ints });

/** Collects nodes and initializers; names intermediate values `/<layer>/<Op>_output_<k>` as torch.onnx. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private readonly names = new Set<string>();
  private unique(base: string): string {
    let n = base, k = 0;
    while (this.names.has(n)) n = `${base}_${++k}`;
    this.names.add(n);
    return n;
  }
  reserve(name: string): void { this.names.add(name); }
  node(scope: string, op: string, inputs: string[], attributes: Attribute[] = []): string {
    const name = this.unique(`/${scope}/${op}`);
    const out = this.unique(`${name}_output_0`);
    this.nodes.push({ name, op_type: op, input: inputs, output: [out], attribute: attributes });
    return out;
  }
  /** A float32 initializer (a parameter under its state-dict name, or a constant). */
  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    const data = Float32Array.from(values);
    this.initializers.push({ name: this.unique(name), dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer) });
    return this.initializers[this.initializers.length - 1].name;
  }
  scalar(scope: string, label: string, value: number): string { return this.floats(`/${scope}/${label}`, [], [value]); }
  int64s(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name: this.unique(name), dims: [values.length], data_type: INT64, raw_data: new Uint8Array(data.buffer) });
    return this.initializers[this.initializers.length - 1].name;
  }
}

/** One layer in the walk: where it is (for messages and names) and the value flowing in. */
interface Site { b: GraphBuilder; where: string; prefix: string; scope: string; opset: number }

const SUPPORTED = 'Linear, BatchNorm1d (with running statistics), LayerNorm, ReLU, LeakyReLU, RReLU, PReLU, ELU, SELU, GELU, SiLU, Mish, ' +
  'Sigmoid, Tanh, Softplus, Hardtanh, LogSigmoid, Softmax, LogSoftmax, Dropout, AlphaDropout, Identity, Flatten, Sequential';

function param(s: Site, m: Module, field: string): string {
  const t = (m as unknown as Record<string, Tensor | null>)[field];
  if (!t) throw new ArgumentError(`exportOnnx: ${s.where} has no '${field}'`);
  if (t.dtype !== 'float32')
    throw new DTypeError(`exportOnnx: expected float32 parameters, received ${s.where}'s '${field}' as ${t.dtype} (convert the model to float32 first)`);
  return s.b.floats(s.prefix + field, t.shape.slice(), noGrad(() => t.data()));
}

/** Softplus as torch.nn.Softplus: log(1 + e^{βx}) / β, and x itself where βx > threshold. */
function softplusOf(s: Site, x: string, beta: number, threshold: number): string {
  const { b, scope } = s;
  const bx = beta === 1 ? x : b.node(scope, 'Mul', [x, b.scalar(scope, 'beta', beta)]);
  let sp = b.node(scope, 'Softplus', [bx]);
  if (beta !== 1) sp = b.node(scope, 'Div', [sp, b.scalar(scope, 'beta', beta)]);
  const above = b.node(scope, 'Greater', [bx, b.scalar(scope, 'threshold', threshold)]);
  return b.node(scope, 'Where', [above, x, sp]);
}

function dimOf(s: Site, dim: number, shape: Shape, what: string): number {
  const d = dim < 0 ? dim + shape.length : dim;
  if (d < 0 || d >= shape.length) throw new ShapeError(`exportOnnx: ${s.where} has ${what} ${dim}, which does not fit its input of shape ${shapeStr(shape.map((v) => v ?? 'batch'))}`);
  return d;
}

/** Emits one layer; returns the output value's name and static shape (null: the dynamic batch). */
function emit(m: Module, s: Site, x: string, shape: Shape): [string, Shape] {
  const { b, scope } = s;
  const shown = (): string => shapeStr(shape.map((v) => v ?? 'batch'));
  const C = m.constructor;
  if (C === Sequential) {
    for (const [name, child] of (m as Sequential)._modules) {
      const where = `layer ${s.prefix}${name} (${child.constructor.name})`;
      [x, shape] = emit(child, { b, where, prefix: `${s.prefix}${name}.`, scope: `${s.prefix}${name}`, opset: s.opset }, x, shape);
    }
    return [x, shape];
  }
  if (C === Linear) {
    const l = m as Linear;
    if (shape.length === 0 || shape[shape.length - 1] !== l.inFeatures)
      throw new ShapeError(`exportOnnx: ${s.where} expects ${l.inFeatures} features (last dimension), but its input has shape ${shown()}`);
    const w = param(s, l, 'weight');
    const bias = l.bias ? param(s, l, 'bias') : null;
    const out = [...shape.slice(0, -1), l.outFeatures];
    // Gemm needs a 2-D input; other ranks take MatMul onto the transposed weight, then Add.
    if (shape.length === 2) return [b.node(scope, 'Gemm', bias ? [x, w, bias] : [x, w], [attrF('alpha', 1), attrF('beta', 1), attrI('transB', 1)]), out];
    let y = b.node(scope, 'MatMul', [x, b.node(scope, 'Transpose', [w], [attrInts('perm', [1, 0])])]);
    if (bias) y = b.node(scope, 'Add', [y, bias]);
    return [y, out];
  }
  if (C === BatchNorm1d) {
    const bn = m as BatchNorm1d;
    if ((shape.length !== 2 && shape.length !== 3) || shape[1] !== bn.numFeatures)
      throw new ShapeError(`exportOnnx: ${s.where} expects [N, ${bn.numFeatures}] or [N, ${bn.numFeatures}, L] input, but its input has shape ${shown()}`);
    if (!bn.running_mean || !bn.running_var)
      throw new ArgumentError(`exportOnnx: cannot export ${s.where}: without running statistics (trackRunningStats: false) it normalises with batch statistics even in eval mode`);
    const n = bn.numFeatures;
    const scale = bn.weight ? param(s, bn, 'weight') : b.floats(`/${scope}/scale`, [n], new Float32Array(n).fill(1));
    const bias = bn.bias ? param(s, bn, 'bias') : b.floats(`/${scope}/bias`, [n], new Float32Array(n));
    const y = b.node(scope, 'BatchNormalization', [x, scale, bias, param(s, bn, 'running_mean'), param(s, bn, 'running_var')], [attrF('epsilon', bn.eps)]);
    return [y, shape];
  }
  if (C === LayerNorm) {
    const ln = m as LayerNorm;
    const k = ln.normalizedShape.length;
    if (s.opset < 17) throw new ArgumentError(`exportOnnx: cannot export ${s.where} at opset ${s.opset}: LayerNormalization needs opset 17 or later`);
    if (shape.length < k || shape.slice(shape.length - k).some((d, i) => d !== ln.normalizedShape[i]))
      throw new ShapeError(`exportOnnx: ${s.where} expects trailing dimensions ${shapeStr(ln.normalizedShape)}, but its input has shape ${shown()}`);
    const scale = ln.weight ? param(s, ln, 'weight') : b.floats(`/${scope}/scale`, ln.normalizedShape, new Float32Array(ln.normalizedShape.reduce((a, d) => a * d, 1)).fill(1));
    const inputs = ln.bias ? [x, scale, param(s, ln, 'bias')] : [x, scale];
    return [b.node(scope, 'LayerNormalization', inputs, [attrI('axis', -k), attrF('epsilon', ln.eps)]), shape];
  }
  if (C === ReLU) return [b.node(scope, 'Relu', [x]), shape];
  if (C === LeakyReLU) return [b.node(scope, 'LeakyRelu', [x], [attrF('alpha', (m as LeakyReLU).negativeSlope)]), shape];
  // RReLU in eval is a leaky ReLU with the mean slope.
  if (C === RReLU) return [b.node(scope, 'LeakyRelu', [x], [attrF('alpha', ((m as RReLU).lower + (m as RReLU).upper) / 2)]), shape];
  if (C === PReLU) {
    const p = m as PReLU;
    let slope = param(s, p, 'weight');
    if (p.numParameters > 1) {
      if (shape.length < 2 || shape[1] !== p.numParameters)
        throw new ShapeError(`exportOnnx: ${s.where} has ${p.numParameters} slopes for dimension 1, but its input has shape ${shown()}`);
      // ONNX broadcasts the slope from the trailing dimension; torch applies it along dim 1.
      if (shape.length > 2) slope = b.node(scope, 'Reshape', [slope, b.int64s(`/${scope}/slope_shape`, [p.numParameters, ...shape.slice(2).map(() => 1)])]);
    }
    return [b.node(scope, 'PRelu', [x, slope]), shape];
  }
  if (C === ELU) return [b.node(scope, 'Elu', [x], [attrF('alpha', (m as ELU).alpha)]), shape];
  // torch.nn.SELU's constants (Klambauer et al. 2017), as ONNX Selu's attributes.
  if (C === SELU) return [b.node(scope, 'Selu', [x], [attrF('alpha', 1.6732632423543772), attrF('gamma', 1.0507009873554805)]), shape];
  if (C === GELU) {
    // Composed from opset-13 ops (ONNX's Gelu op is opset 20): exact 0.5·x·(1 + erf(x/√2));
    // tanh form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    const inner = (m as GELU).approximate === 'none'
      ? b.node(scope, 'Erf', [b.node(scope, 'Mul', [x, b.scalar(scope, 'inv_sqrt2', Math.SQRT1_2)])])
      : b.node(scope, 'Tanh', [b.node(scope, 'Mul', [
        b.node(scope, 'Add', [x, b.node(scope, 'Mul', [b.node(scope, 'Mul', [b.node(scope, 'Mul', [x, x]), x]), b.scalar(scope, 'c', 0.044715)])]),
        b.scalar(scope, 'sqrt_2_over_pi', Math.sqrt(2 / Math.PI))])]);
    const onePlus = b.node(scope, 'Add', [inner, b.scalar(scope, 'one', 1)]);
    return [b.node(scope, 'Mul', [b.node(scope, 'Mul', [x, onePlus]), b.scalar(scope, 'half', 0.5)]), shape];
  }
  if (C === SiLU) return [b.node(scope, 'Mul', [x, b.node(scope, 'Sigmoid', [x])]), shape];
  if (C === Mish) return [b.node(scope, 'Mul', [x, b.node(scope, 'Tanh', [softplusOf(s, x, 1, 20)])]), shape];
  if (C === Sigmoid) return [b.node(scope, 'Sigmoid', [x]), shape];
  if (C === Tanh) return [b.node(scope, 'Tanh', [x]), shape];
  if (C === Softplus) return [softplusOf(s, x, (m as Softplus).beta, (m as Softplus).threshold), shape];
  if (C === Softmax || C === LogSoftmax) {
    const axis = dimOf(s, (m as Softmax).dim, shape, 'dim');
    return [b.node(scope, C === Softmax ? 'Softmax' : 'LogSoftmax', [x], [attrI('axis', axis)]), shape];
  }
  if (C === Dropout || C === AlphaDropout || C === Identity) return [b.node(scope, 'Identity', [x]), shape];
  if (C === Flatten) {
    const f = m as Flatten;
    const st = dimOf(s, f.startDim, shape, 'startDim'), en = dimOf(s, f.endDim, shape, 'endDim');
    if (st > en) throw new ArgumentError(`exportOnnx: ${s.where} has startDim ${f.startDim} after endDim ${f.endDim} for its input of shape ${shown()}`);
    const merged = shape.slice(st, en + 1);
    const size = merged.includes(null) ? null : merged.reduce<number>((a, d) => a * (d as number), 1);
    const out: Shape = [...shape.slice(0, st), size, ...shape.slice(en + 1)];
    // Reshape: 0 copies the input's dimension at that index (the batch), −1 takes what is left.
    const target = out.map((d, i) => (d === null ? (i < st ? 0 : -1) : d));
    return [b.node(scope, 'Reshape', [x, b.int64s(`/${scope}/shape`, target)]), out];
  }
  if (C === Hardtanh) {
    const h = m as Hardtanh;
    return [b.node(scope, 'Clip', [x, b.scalar(scope, 'min', h.minVal), b.scalar(scope, 'max', h.maxVal)]), shape];
  }
  if (C === LogSigmoid) {
    // log σ(x) = −softplus(−x), stable for both signs.
    const neg = b.node(scope, 'Neg', [x]);
    return [b.node(scope, 'Neg', [softplusOf(s, neg, 1, 20)]), shape];
  }
  throw new ArgumentError(`exportOnnx: cannot export ${s.where}: no ONNX mapping for ${C.name} (supported: ${SUPPORTED})`);
}

function checkExportOptions(options: unknown, where: string): Required<ExportOnnxOptions> {
  if (options === undefined) throw new ArgumentError(`${where}: expected an options object with inputShape, received undefined`);
  const o = checkOptions<ExportOnnxOptions>(options, where, ['inputShape', 'opset', 'inputName', 'outputName']);
  const s = o.inputShape;
  if (!Array.isArray(s) || s.length === 0 || s.some((d, i) => !(i === 0 && d === null) && !(Number.isInteger(d) && (d as number) > 0)))
    throw new ArgumentError(`${where}: expected inputShape to be a non-empty array of positive integers (the first may be null for a dynamic batch), received ${Array.isArray(s) ? shapeStr(s) : describe(s)}`);
  const opset = o.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET)
    throw new ArgumentError(`${where}: expected opset to be an integer from ${MIN_OPSET} to ${MAX_OPSET}, received ${describe(opset)}`);
  const names = { inputName: o.inputName ?? 'input', outputName: o.outputName ?? 'output' };
  for (const [k, v] of Object.entries(names))
    if (typeof v !== 'string' || v === '') throw new ArgumentError(`${where}: expected ${k} to be a non-empty string, received ${describe(v)}`);
  if (names.inputName === names.outputName) throw new ArgumentError(`${where}: expected inputName and outputName to differ, both are '${names.inputName}'`);
  return { inputShape: s.slice(), opset, ...names };
}

const valueInfo = (name: string, shape: Shape): object => ({
  name,
  type: { tensor_type: { elem_type: FLOAT, shape: { dim: shape.map((d) => (d === null ? { dim_param: 'batch' } : { dim_value: d })) } } },
});

/**
 * The ONNX model of `model` as bytes (what {@link exportOnnx} writes).
 * @example const bytes = io.serializeOnnx(model, { inputShape: [null, 4] }); // Uint8Array
 */
export function serializeOnnx(model: Module, options: ExportOnnxOptions): Uint8Array {
  const where = 'serializeOnnx';
  if (!(model instanceof Module)) throw new ArgumentError(`${where}: expected model to be an nn.Module, received ${describe(model)}`);
  const o = checkExportOptions(options, where);
  const b = new GraphBuilder();
  b.reserve(o.inputName);
  const top = model.constructor === Sequential ? 'model' : `the model (${model.constructor.name})`;
  let [y, shape] = emit(model, { b, where: top, prefix: '', scope: model.constructor.name, opset: o.opset }, o.inputName, o.inputShape);
  // The graph output takes the last node's value name (an Identity when nothing ran).
  if (y === o.inputName) y = b.node('output', 'Identity', [y]);
  for (const n of b.nodes) {
    n.input = n.input.map((v) => (v === y ? o.outputName : v));
    n.output = n.output.map((v) => (v === y ? o.outputName : v));
  }
  if (b.initializers.some((t) => t.name === o.outputName || t.name === o.inputName))
    throw new ArgumentError(`${where}: inputName/outputName '${o.inputName}'/'${o.outputName}' collides with a parameter name`);
  const type = onnxModelType();
  const message = type.fromObject({
    ir_version: irVersionFor(o.opset),
    producer_name: 'entrena',
    opset_import: [{ domain: '', version: o.opset }],
    graph: {
      name: 'entrena',
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(o.inputName, o.inputShape)],
      output: [valueInfo(o.outputName, shape)],
    },
  });
  return type.encode(message).finish();
}

/**
 * Writes `model` (an `nn.Sequential` of supported layers, or one such layer) as an ONNX model
 * for inference runtimes (onnxruntime, onnxruntime-node, TensorRT…). The graph is the eval-mode
 * forward whatever the model's mode: BatchNorm1d uses its running statistics and dropout is the
 * identity. Initializers keep the state-dict names ("0.weight", "1.running_mean"); the input and
 * output are float32 named 'input' and 'output', with a dynamic 'batch' dimension when
 * `inputShape[0]` is null. Written atomically.
 *
 * Supported: Linear (Gemm; MatMul + Add beyond 2-D), BatchNorm1d (BatchNormalization),
 * LayerNorm (LayerNormalization, opset ≥ 17), ReLU, LeakyReLU, RReLU (eval slope), PReLU, ELU,
 * SELU, GELU (exact via Erf, or the tanh form, composed), SiLU (x·Sigmoid), Mish
 * (x·Tanh(Softplus)), Sigmoid, Tanh, Softplus (β and threshold kept), Hardtanh (Clip),
 * LogSigmoid, Softmax, LogSoftmax, Dropout / AlphaDropout / Identity (Identity), Flatten, and
 * nested Sequential. Any other layer throws `ERR_INVALID_ARGUMENT` naming the layer and its
 * index; a layer whose input shape does not fit throws `ERR_SHAPE`; non-float32 parameters throw
 * `ERR_DTYPE`.
 *
 * @param options.inputShape one input's shape, batch first; `[null, F]` for a dynamic batch.
 * @param options.opset ONNX opset, 13…21 (default 17).
 * @example
 * import { io, nn } from 'entrena';
 * const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3), new nn.Softmax(-1));
 * io.exportOnnx(model, 'model.onnx', { inputShape: [null, 4] });
 * // Node service: const session = await ort.InferenceSession.create('model.onnx');
 * // const { output } = await session.run({ input: new ort.Tensor('float32', data, [n, 4]) });
 */
export function exportOnnx(model: Module, path: string, options: ExportOnnxOptions): void {
  if (typeof path !== 'string' || !path) throw new ArgumentError(`exportOnnx: expected a file path, received ${describe(path)}`);
  let bytes: Uint8Array;
  try {
    bytes = serializeOnnx(model, options);
  } catch (e) {
    if (e instanceof Error) e.message = e.message.replace(/^serializeOnnx:/, 'exportOnnx:');
    throw e;
  }
  writeAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
