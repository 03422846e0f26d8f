#!/usr/bin/env node
/**
 * main.ts — the `entrena` command line:
 *   entrena train [config.json] [--data-dir DIR] [--epochs N] [--device cpu|cuda] [--out DIR] [--quiet] [--nproc N]
 *   entrena evaluate config.json --weights model.safetensors [--data-dir DIR]
 *   entrena predict RUN_DIR --input data.csv [--output preds.csv] [--proba]
 *   entrena bench            (runs bench/gemm.mjs from a source checkout)
 *   entrena info             (version, which addon was loaded and why, CPU features, threads, CUDA)
 * `npm start` runs `entrena train` with the built-in spirals config: no data to fetch.
 *
 * `--nproc N` trains data-parallel on N processes: the command starts `mpirun` on itself, and each
 * rank (which finds the launcher's environment) joins the job with `distributed.init()`, wraps the
 * model in DistributedDataParallel and reads its DistributedSampler share of the training data; the
 * config's batchSize is the total over the ranks. Rank 0 prints and writes the run's files. The same
 * happens under any launcher (`mpirun -np 4 entrena train config.json`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { EntrenaError } from '../errors.js';
import { manualSeed } from '../ops/creation.js';
import { info } from '../info.js';
import { root } from '../native.js';
import * as data from '../data/index.js';
import * as io from '../io/index.js';
import * as report from '../report/index.js';
import { fit, evaluate, predict, metrics as m } from '../train/index.js';
import { isAvailable as cudaAvailable } from '../cuda.js';
import { tidy } from '../tensor.js';
import * as distributed from '../distributed/index.js';
import { DistributedDataParallel } from '../nn/parallel.js';
import { cpus } from 'node:os';
import { DEFAULT_CONFIG, buildCallbacks, buildData, buildLoss, buildModel, buildOptimizer, buildScheduler, checkConfig, type RunConfig } from './config.js';
import { Preprocess, resolveForData } from './tabular.js';

interface Args { command: string; positional: string[]; flags: Record<string, string | true> }

function parseArgs(argv: string[]): Args {
  const [command = 'help', ...rest] = argv;
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags[k] = v;
      else if (i + 1 < rest.length && !rest[i + 1].startsWith('--') && !['quiet', 'help', 'proba'].includes(k)) flags[k] = rest[++i];
      else flags[k] = true;
    } else positional.push(a);
  }
  return { command, positional, flags };
}

const KNOWN_FLAGS: Record<string, string[]> = {
  train: ['data-dir', 'epochs', 'device', 'out', 'quiet', 'nproc'],
  evaluate: ['data-dir', 'weights', 'device'],
  predict: ['input', 'output', 'proba'],
  bench: [],
  info: [],
};

function usage(): string {
  return `usage:
  entrena train [config.json] [--data-dir DIR] [--epochs N] [--device cpu|cuda] [--out DIR] [--quiet] [--nproc N]
  entrena evaluate config.json --weights model.safetensors [--data-dir DIR]
  entrena predict RUN_DIR --input data.csv [--output preds.csv] [--proba]
  entrena bench
  entrena info`;
}

function loadConfig(path: string | undefined): RunConfig {
  if (!path) return structuredClone(DEFAULT_CONFIG);
  if (!existsSync(path)) throw new EntrenaError('ERR_INVALID_ARGUMENT', `config file not found: ${path}`);
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new EntrenaError('ERR_FORMAT', `config ${path} is not valid JSON: ${(e as Error).message}`); }
  return checkConfig(raw);
}

async function train(args: Args): Promise<void> {
  let config = loadConfig(args.positional[0]);
  const baseDir = args.positional[0] ? dirname(resolve(args.positional[0])) : process.cwd();
  const device = (args.flags.device as string | undefined) ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new EntrenaError('ERR_INVALID_ARGUMENT', `--device: expected cpu or cuda, received ${device}`);
  if (device === 'cuda' && !cudaAvailable()) throw new EntrenaError('ERR_DEVICE', '--device cuda: no CUDA device is available (build with `npm run build:cuda` on a GPU machine)');
  if (args.flags.epochs !== undefined) {
    const e = Number(args.flags.epochs);
    if (!Number.isInteger(e) || e < 0) throw new EntrenaError('ERR_INVALID_ARGUMENT', `--epochs: expected a non-negative integer, received ${args.flags.epochs}`);
    config.epochs = e;
  }
  const seed = config.seed ?? 0;
  manualSeed(seed);
  // Under a launcher (--nproc, or mpirun/srun around us): one rank of a data-parallel job.
  const dist = distributed.launcherWorld().worldSize > 1;
  if (dist) distributed.init({ backend: device === 'cuda' ? 'nccl' : 'mpi' });
  const rankZero = distributed.rank() === 0;
  const name = config.name ?? 'run';
  const out = resolve((args.flags.out as string | undefined) ?? join('runs', name));
  if (rankZero) mkdirSync(out, { recursive: true });
  const quiet = args.flags.quiet === true || !rankZero;
  const log = (s: string) => { if (!quiet) console.log(s); };

  const splits = buildData(config.dataset, args.flags['data-dir'] as string | undefined, seed, baseDir);
  if (splits.preprocess) {
    // The user's data decides the input and output sizes, the loss and the metrics; the config
    // saved with the run has them filled in, and absolute data paths, so the run stands alone.
    config = resolveForData(config, splits.preprocess, baseDir);
  }
  const model = buildModel(config.model);
  if (device === 'cuda') model.to('cuda');
  const trained = dist ? new DistributedDataParallel(model) : model;
  const loss = buildLoss(config.loss);
  const optimizer = buildOptimizer(config.optimizer, model.parameters());
  const batchSize = config.batchSize ?? 64;
  const epochs = config.epochs ?? 10;
  const world = distributed.worldSize();
  // The config's batch is the total: each rank takes its share of it.
  const rankBatch = Math.max(1, Math.round(batchSize / world));
  const trainLoader = dist
    ? new data.DataLoader(splits.train, { batchSize: rankBatch, sampler: new data.DistributedSampler(splits.train, { seed }), device: device as 'cpu' | 'cuda' })
    : new data.DataLoader(splits.train, { batchSize, shuffle: true, seed, device: device as 'cpu' | 'cuda' });
  const valLoader = !splits.validation ? undefined : dist
    ? new data.DataLoader(splits.validation, { batchSize: 1024, sampler: new data.DistributedSampler(splits.validation, { shuffle: false }), device: device as 'cpu' | 'cuda' })
    : new data.DataLoader(splits.validation, { batchSize: 1024, device: device as 'cpu' | 'cuda' });
  const scheduler = buildScheduler(config.scheduler, optimizer, trainLoader.length, epochs);
  const callbacks = buildCallbacks(config.callbacks, out);
  log(`entrena: training '${name}' on ${device}${dist ? ` × ${world} processes` : ''}: ${splits.train.length} training samples, ${splits.validation?.length ?? 0} validation, ${epochs} epochs, batch ${batchSize}${dist ? ` (${world} × ${rankBatch})` : ''}`);
  const t0 = performance.now();
  const history = await fit(trained, {
    train: trainLoader, validation: valLoader, loss, optimizer, epochs, metrics: config.metrics ?? ['accuracy'],
    callbacks, scheduler: scheduler as never, clipGradNorm: config.clipGradNorm, progress: !quiet,
  });
  const seconds = (performance.now() - t0) / 1000;
  // The run's files and the test evaluation: rank 0's (every rank holds the same weights).
  if (!rankZero) return;
  const summary: Record<string, string | number> = { 'training time (s)': seconds.toFixed(1), 'samples/s': ((splits.train.length * history.epochs.length) / seconds).toFixed(0) };
  let confusion: number[][] | undefined;
  if (splits.test) {
    const testLoader = new data.DataLoader(splits.test, { batchSize: 1024, device: device as 'cpu' | 'cuda' });
    const r = await evaluate(model, testLoader, { loss, metrics: config.metrics ?? ['accuracy'] });
    for (const [k, v] of Object.entries(r.metrics)) summary[`test ${k}`] = v.toFixed(4);
    summary['test loss'] = r.loss.toFixed(4);
    if (splits.task !== 'regression') confusion = tidy(() => m.confusionMatrix(predict(model, splits.test!.x), splits.test!.y));
    log(`test: loss ${r.loss.toFixed(4)}  ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}`);
    testLoader.dispose?.();
  }
  io.save(model, join(out, 'model.safetensors'), { config: JSON.stringify(config) });
  writeFileSync(join(out, 'history.json'), JSON.stringify(history.toJSON(), null, 1));
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(out, 'preprocess.json'), JSON.stringify((splits.preprocess ?? builtInPreprocess(config, splits.classes)).toJSON(), null, 1));
  report.learningCurves(history, join(out, 'curves.svg'));
  report.html(history, join(out, 'report.html'), {
    title: `entrena — ${name}`, hyperParameters: { optimizer: config.optimizer, loss: config.loss, scheduler: config.scheduler ?? 'none', batchSize, epochs, seed, device, model: config.model.map((l) => l.type).join(' → ') },
    confusionMatrix: confusion, classNames: splits.classes, summary,
  });
  log(`wrote ${join(out, 'report.html')}, ${join(out, 'model.safetensors')}, ${join(out, 'preprocess.json')}, ${join(out, 'curves.svg')}, ${join(out, 'history.json')}`);
}

/** The preprocess.json of a run on built-in data: tensors in; class indices (or the dataset's names) out. */
function builtInPreprocess(config: RunConfig, classes: string[] | undefined): Preprocess {
  const linears = config.model.filter((l) => l.type === 'Linear');
  const inF = Number(linears[0]?.in ?? 0), outF = Number(linears.at(-1)?.out ?? 1);
  const classification = ['CrossEntropyLoss', 'NLLLoss'].includes(config.loss.type);
  return Preprocess.identity(inF, classification ? classes ?? Array.from({ length: outF }, (_, i) => String(i)) : null, classification ? 'classification' : 'regression');
}

/** One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function predictCommand(args: Args): Promise<void> {
  const dir = args.positional[0];
  if (!dir) throw new EntrenaError('ERR_INVALID_ARGUMENT', 'predict: the run folder is required (entrena predict RUN_DIR --input data.csv)');
  const input = args.flags.input;
  if (typeof input !== 'string') throw new EntrenaError('ERR_INVALID_ARGUMENT', 'predict: --input data.csv is required');
  const run = io.loadRun(dir);
  const p = run.preprocess;
  const proba = args.flags.proba === true;
  if (proba && !p.classes) throw new EntrenaError('ERR_INVALID_ARGUMENT', 'predict: --proba needs a classification run; this run is a regression');
  // An IDX file (…-ubyte, .idx, gzipped or not) for runs on IDX data; otherwise a CSV with a header row.
  const x = /(\.idx|ubyte)(\.gz)?$/i.test(input)
    ? tidy(() => { const t = data.readIdx(input); return p.transform(t.reshape([t.shape[0], t.size / Math.max(1, t.shape[0])])); })
    : p.transformCsv(input);
  let result: ReturnType<Preprocess['decode']>;
  try { result = tidy(() => p.decode(predict(run.model, x), { proba })); } finally { x.dispose(); }
  const name = p.target ?? 'prediction';
  const header = [name, ...(proba ? p.classes!.map((c) => `prob_${c}`) : [])];
  const lines = [header.map(csvField).join(',')];
  result.predictions.forEach((v, i) => lines.push([v, ...(proba ? result.probabilities![i] : [])].map(csvField).join(',')));
  const text = lines.join('\n') + '\n';
  const output = args.flags.output;
  if (typeof output === 'string') writeFileSync(output, text);
  else process.stdout.write(text);
}

async function evaluateCommand(args: Args): Promise<void> {
  const config = loadConfig(args.positional[0]);
  const weights = args.flags.weights as string | undefined;
  if (!weights) throw new EntrenaError('ERR_INVALID_ARGUMENT', 'evaluate: --weights model.safetensors is required');
  const splits = buildData(config.dataset, args.flags['data-dir'] as string | undefined, config.seed ?? 0);
  const model = buildModel(config.model);
  io.load(model, weights);
  const set = splits.test ?? splits.validation ?? splits.train;
  const r = await evaluate(model, new data.DataLoader(set, { batchSize: 1024 }), { loss: buildLoss(config.loss), metrics: config.metrics ?? ['accuracy'] });
  console.log(JSON.stringify({ samples: set.length, loss: r.loss, ...r.metrics }));
}

/**
 * `entrena train … --nproc N` outside a launcher: runs this command again under `mpirun -np N`
 * (each rank then finds the launcher's environment) and returns mpirun's exit status. Threads per
 * rank are the cores divided by the ranks (distributed.init sets them).
 */
function launchRanks(nprocFlag: string | true, argv: string[]): number {
  const n = Number(nprocFlag);
  if (!Number.isInteger(n) || n < 1) { console.error(`entrena train: --nproc: expected a positive integer, received ${nprocFlag}`); return 2; }
  const probe = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.error('entrena train: --nproc needs OpenMPI\'s mpirun, which was not found on PATH. Install OpenMPI: ' +
      'apt-get install openmpi-bin (Debian, Ubuntu), dnf install openmpi (Fedora; then `module load mpi`), brew install open-mpi (macOS); ' +
      'or start the ranks with your own launcher: mpirun -np N entrena train config.json');
    return 2;
  }
  const script = process.argv[1];
  const mpiArgs = ['--bind-to', 'none', '-np', String(n)];
  if (typeof process.getuid === 'function' && process.getuid() === 0) mpiArgs.unshift('--allow-run-as-root');
  if (n > cpus().length) mpiArgs.unshift('--oversubscribe');
  const r = spawnSync('mpirun', [...mpiArgs, process.execPath, script, ...argv], { stdio: 'inherit' });
  return r.status ?? 1;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.command === 'help' || args.flags.help) { console.log(usage()); return 0; }
  const known = KNOWN_FLAGS[args.command];
  if (!known) { console.error(`entrena: unknown command '${args.command}'; valid commands: train, evaluate, predict, bench, info\n${usage()}`); return 2; }
  for (const f of Object.keys(args.flags)) if (!known.includes(f)) { console.error(`entrena ${args.command}: unknown option --${f}; valid options: ${known.map((k) => '--' + k).join(', ') || '(none)'}`); return 2; }
  try {
    switch (args.command) {
      case 'train':
        if (args.flags.nproc !== undefined && distributed.launcherWorld().launcher === null) return launchRanks(args.flags.nproc, argv);
        await train(args);
        return 0;
      case 'evaluate': await evaluateCommand(args); return 0;
      case 'predict': await predictCommand(args); return 0;
      case 'info': console.log(JSON.stringify(info(), null, 2)); return 0;
      case 'bench': {
        const script = join(root, 'bench', 'gemm.mjs');
        if (!existsSync(script)) { console.error('entrena bench: bench/gemm.mjs is not part of this installation (run it from a source checkout)'); return 2; }
        return spawnSync(process.execPath, [script], { stdio: 'inherit' }).status ?? 1;
      }
    }
  } catch (e) {
    if (e instanceof EntrenaError) { console.error(`entrena ${args.command}: ${e.message} (${e.code})`); return 1; }
    throw e;
  }
  return 0;
}

// Run when executed as a script (bin), not when imported.
const invoked = process.argv[1] && /(?:cli[\\/]main\.js|[\\/]entrena)$/.test(process.argv[1]);
if (invoked) main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
