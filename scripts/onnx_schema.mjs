// scripts/onnx_schema.mjs — prints the subset of ONNX's protobuf schema that lib/ts/io/onnx.ts
// embeds (ONNX_SCHEMA), as protobufjs JSON, from an onnx.proto (default: Debian python3-onnx's).
// Run: node scripts/onnx_schema.mjs [/path/to/onnx.proto]   (then paste over ONNX_SCHEMA)
import protobuf from 'protobufjs';
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const root = protobuf.parse(readFileSync(file, 'utf8'), { keepCase: true }).root;
const pkg = root.lookup('onnx');
const keep = ['ModelProto', 'GraphProto', 'NodeProto', 'AttributeProto', 'TensorProto', 'ValueInfoProto', 'TypeProto',
  'TensorShapeProto', 'OperatorSetIdProto', 'StringStringEntryProto'];
const json = pkg.toJSON().nested;
const out = {};
for (const k of keep) out[k] = json[k];
// Drop what the exporter never writes, keeping every field number as in onnx.proto.
const m = out.ModelProto.fields; for (const f of ['training_info', 'functions']) delete m[f];
const g = out.GraphProto.fields; for (const f of ['sparse_initializer', 'quantization_annotation']) delete g[f];
const a = out.AttributeProto.fields; for (const f of ['sparse_tensor', 'sparse_tensors', 'tp', 'tps']) delete a[f];
delete out.TensorProto.nested.Segment; delete out.TensorProto.fields.segment;
const t = out.TypeProto; t.oneofs = { value: { oneof: ['tensor_type'] } };
for (const f of Object.keys(t.fields)) if (f !== 'tensor_type' && f !== 'denotation') delete t.fields[f];
for (const n of Object.keys(t.nested)) if (n !== 'Tensor') delete t.nested[n];
console.log(JSON.stringify({ nested: { onnx: { nested: out } } }));
