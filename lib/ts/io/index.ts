/** io — saving and loading: safetensors state dicts and whole-run checkpoints. */
export { save, load, readSafetensors, parseSafetensors, serializeSafetensors, writeAtomic } from './safetensors.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointContents } from './checkpoint.js';
