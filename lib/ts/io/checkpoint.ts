/**
 * checkpoint.ts — saving and resuming a whole training run: model, optimizer, scheduler, epoch,
 * RNG state and History, in one safetensors file written atomically.
 *
 * Layout: the model's tensors under `model.<name>`; tensors found anywhere inside the optimizer's
 * or scheduler's state dicts under `optimizer.<n>` / `scheduler.<n>`, replaced in the JSON by
 * `{ "__tensor__": "<name>" }`; everything else (epoch, RNG, History, the JSON of those state
 * dicts, user extras) in `__metadata__.entrena_checkpoint` as JSON.
 */
import { readFileSync } from 'node:fs';
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, FormatError, describe } from '../errors.js';
import { Tensor } from '../tensor.js';
import { getRngState, setRngState } from '../ops/creation.js';
import { History } from '../train/history.js';
import { entryToTensor, parseSafetensors, serializeSafetensors, writeAtomic } from './safetensors.js';

interface Stateful { stateDict(): unknown; loadStateDict(sd: unknown, options?: unknown): unknown }

export interface CheckpointContents {
  model: { stateDict(): Record<string, Tensor>; loadStateDict(sd: Record<string, Tensor>, options?: { strict?: boolean }): unknown };
  optimizer?: Stateful;
  scheduler?: Stateful;
  epoch: number;
  history?: History;
  /** Any JSON-serialisable extras (hyper-parameters, the data loader's seed, ...). */
  extra?: Record<string, unknown>;
}

function extractTensors(value: unknown, prefix: string, out: [string, Tensor][]): unknown {
  if (value instanceof Tensor) {
    const name = `${prefix}.${out.length}`;
    out.push([name, value]);
    return { __tensor__: name };
  }
  if (Array.isArray(value)) return value.map((v) => extractTensors(v, prefix, out));
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) o[k] = extractTensors(v, prefix, out);
    return o;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { __number__: String(value) };
  return value;
}

function restoreTensors(value: unknown, lookup: (name: string) => Tensor): unknown {
  if (Array.isArray(value)) return value.map((v) => restoreTensors(v, lookup));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.__tensor__ === 'string' && Object.keys(o).length === 1) return lookup(o.__tensor__);
    if (typeof o.__number__ === 'string' && Object.keys(o).length === 1) return Number(o.__number__);
    const r: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) r[k] = restoreTensors(v, lookup);
    return r;
  }
  return value;
}

/**
 * Saves everything needed to resume training exactly (atomic: a crash mid-write leaves the
 * previous checkpoint intact).
 * @example io.saveCheckpoint({ model, optimizer, scheduler, epoch, history }, 'runs/ckpt.safetensors')
 */
export function saveCheckpoint(contents: CheckpointContents, path: string): void {
  if (!contents || !contents.model || typeof contents.model.stateDict !== 'function') throw new ArgumentError(`io.saveCheckpoint: expected { model, optimizer?, epoch, ... }, received ${describe(contents)}`);
  checkOptions(contents, 'io.saveCheckpoint', ['model', 'optimizer', 'scheduler', 'epoch', 'history', 'extra'], { metadata: 'put JSON-serialisable extras under extra' });
  checkNumber(contents.epoch, 'io.saveCheckpoint', 'epoch', { min: 0, integer: true });
  const named: [string, Tensor][] = Object.entries(contents.model.stateDict()).map(([k, t]) => [`model.${k}`, t]);
  const optTensors: [string, Tensor][] = [];
  const schedTensors: [string, Tensor][] = [];
  const meta = {
    version: 1,
    epoch: contents.epoch,
    rng: getRngState(),
    history: contents.history ? contents.history.toJSON() : null,
    optimizer: contents.optimizer ? extractTensors(contents.optimizer.stateDict(), 'optimizer', optTensors) : null,
    scheduler: contents.scheduler ? extractTensors(contents.scheduler.stateDict(), 'scheduler', schedTensors) : null,
    extra: contents.extra ?? null,
  };
  const bytes = serializeSafetensors([...named, ...optTensors, ...schedTensors], { format: 'pt', entrena_checkpoint: JSON.stringify(meta) });
  writeAtomic(path, bytes);
}

/**
 * Reads a checkpoint. With `into`, loads the model (and optimizer, scheduler) state in place and
 * restores the RNG; always returns the epoch, History and extras.
 * @example
 * const { epoch, history } = io.loadCheckpoint('runs/ckpt.safetensors', { model, optimizer, scheduler });
 * await fit(model, { ..., initialEpoch: epoch + 1, history });
 */
export function loadCheckpoint(path: string, into: { model?: CheckpointContents['model']; optimizer?: Stateful; scheduler?: Stateful } = {}): {
  epoch: number; history: History; extra: Record<string, unknown> | null; model: Record<string, Tensor>; optimizer: unknown; scheduler: unknown;
} {
  into = checkOptions<typeof into>(into, 'io.loadCheckpoint', ['model', 'optimizer', 'scheduler']);
  const file = parseSafetensors(readFileSync(path), `checkpoint '${path}'`);
  const raw = file.metadata.entrena_checkpoint;
  if (!raw) throw new FormatError(`checkpoint '${path}': not an entrena checkpoint (no __metadata__.entrena_checkpoint)`);
  let meta: { version: number; epoch: number; rng: { seed: number; counter: number }; history: { epochs: never[]; stopReason?: string } | null; optimizer: unknown; scheduler: unknown; extra: Record<string, unknown> | null };
  try { meta = JSON.parse(raw); } catch { throw new FormatError(`checkpoint '${path}': its metadata is not valid JSON`); }
  const cache = new Map<string, Tensor>();
  const lookup = (name: string): Tensor => {
    let t = cache.get(name);
    if (!t) { t = entryToTensor(file, name); cache.set(name, t); }
    return t;
  };
  const model: Record<string, Tensor> = {};
  for (const name of file.tensors.keys()) if (name.startsWith('model.')) model[name.slice(6)] = lookup(name);
  const optimizer = meta.optimizer === null ? null : restoreTensors(meta.optimizer, lookup);
  const scheduler = meta.scheduler === null ? null : restoreTensors(meta.scheduler, lookup);
  if (into.model) into.model.loadStateDict(model, { strict: true });
  if (into.optimizer && optimizer !== null) into.optimizer.loadStateDict(optimizer);
  if (into.scheduler && scheduler !== null) into.scheduler.loadStateDict(scheduler);
  if (into.model || into.optimizer) setRngState(meta.rng);
  return {
    epoch: meta.epoch,
    history: meta.history ? History.fromJSON(meta.history) : new History(),
    extra: meta.extra,
    model, optimizer, scheduler,
  };
}
