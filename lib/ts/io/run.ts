/**
 * run.ts — loading a run folder written by `entrena train` (config.json, preprocess.json,
 * model.safetensors) as a model ready for `predict`, with the preprocessing that training fitted.
 * This is what a Node service imports: see examples/serve.mjs and docs/cli.md.
 *
 * The run's model is rebuilt from config.json with the CLI's layer builder (a run is the CLI's
 * output format), so io depends on cli/config here; nothing in cli/config imports io.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentError, EntrenaError, FormatError, describe } from '../errors.js';
import { buildModel, checkConfig, type RunConfig } from '../cli/config.js';
import { Preprocess } from '../cli/tabular.js';
import type { Sequential } from '../nn/index.js';
import { load } from './safetensors.js';

export { Preprocess } from '../cli/tabular.js';
export type { PreprocessJSON, Row, Task } from '../cli/tabular.js';

/** What `loadRun` returns. */
export interface LoadedRun {
  /** The trained model, in eval mode, on the CPU. */
  model: Sequential;
  /** The run's config.json (as saved: input and output sizes filled in). */
  config: RunConfig;
  /** The fitted preprocessing: `transform(rows or Tensor) → Tensor` for the model, `decode(output)` for predictions. */
  preprocess: Preprocess;
  /** The class names in the order of the model's outputs (classification), or null (regression). */
  classes: string[] | null;
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new EntrenaError('ERR_IO', `loadRun: ${path} is missing (is this a folder written by \`entrena train\`?)`);
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new FormatError(`loadRun: ${path} is not valid JSON: ${(e as Error).message}`); }
}

/**
 * Loads a run folder written by `entrena train`: the model rebuilt from config.json with the
 * weights of model.safetensors (in eval mode), and the preprocessing of preprocess.json. A run
 * trained before preprocess.json existed gets a pass-through preprocess (tensors in).
 * @example
 * import { io, predict } from 'entrena';
 * const { model, preprocess, classes } = io.loadRun('runs/churn');
 * const x = preprocess.transform([{ tenure: 12, plan: 'pro', monthly: 29.5 }]); // float32 [1, F]
 * const { predictions, probabilities } = preprocess.decode(predict(model, x), { proba: true });
 * x.dispose();
 * // predictions: ['stays'], probabilities: [[0.91, 0.09]] (columns in the order of `classes`)
 */
export function loadRun(dir: string): LoadedRun {
  if (typeof dir !== 'string' || dir === '') throw new ArgumentError(`loadRun: expected a run folder path, received ${describe(dir)}`);
  const config = checkConfig(readJson(join(dir, 'config.json')));
  const model = buildModel(config.model);
  load(model, join(dir, 'model.safetensors'));
  model.eval();
  let preprocess: Preprocess;
  if (existsSync(join(dir, 'preprocess.json'))) preprocess = Preprocess.fromJSON(readJson(join(dir, 'preprocess.json')));
  else {
    const first = config.model.find((l) => l.type === 'Linear');
    if (!first || typeof first.in !== 'number') throw new FormatError(`loadRun: ${dir} has no preprocess.json and its first layer is not a Linear with a numeric 'in'`);
    preprocess = Preprocess.identity(first.in, null);
  }
  return { model, config, preprocess, classes: preprocess.classes };
}
