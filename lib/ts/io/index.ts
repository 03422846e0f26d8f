/** io — saving and loading: safetensors state dicts and whole-run checkpoints. */
export { save, load, readSafetensors, parseSafetensors, serializeSafetensors, writeAtomic } from './safetensors.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointContents } from './checkpoint.js';
export { loadRun, Preprocess, type LoadedRun, type PreprocessJSON, type Row, type Task } from './run.js';
export { exportOnnx, serializeOnnx, type ExportOnnxOptions } from './onnx.js';
