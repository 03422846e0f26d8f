/**
 * types.ts — the structural types the training loop relies on, so that lib/ts/train depends on
 * behaviour (a model has forward/parameters/train/eval, an optimizer step/zeroGrad/paramGroups)
 * rather than on concrete classes.
 */
import type { Tensor } from '../tensor.js';

export interface TrainableModel {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  train(mode?: boolean): unknown;
  eval(): unknown;
  stateDict(): Record<string, Tensor>;
  loadStateDict(sd: Record<string, Tensor>, options?: { strict?: boolean }): unknown;
  namedParameters?(): [string, Tensor][];
}

export interface LossLike {
  forward(prediction: Tensor, target: Tensor): Tensor;
}
export type LossArg = LossLike | ((prediction: Tensor, target: Tensor) => Tensor);

export interface OptimizerLike {
  step(closure?: () => Tensor): unknown;
  zeroGrad(): void;
  paramGroups: { lr: number; [k: string]: unknown }[];
  stateDict?(): unknown;
  loadStateDict?(sd: unknown): void;
}

export interface SchedulerLike {
  step(metric?: number): void;
  /** 'batch' for schedulers stepped after every optimizer step (OneCycleLR), else 'epoch'. */
  interval?: 'batch' | 'epoch';
  /** ReduceLROnPlateau-style schedulers take the monitored value in step(). */
  monitor?: string;
  stateDict?(): unknown;
  loadStateDict?(sd: unknown): void;
}

export type Batch = [Tensor, Tensor];
export type BatchSource = Iterable<Batch> | AsyncIterable<Batch>;

export interface EpochLog {
  epoch: number;
  loss: number;
  valLoss?: number;
  metrics: Record<string, number>;
  valMetrics?: Record<string, number>;
  lr: number;
  seconds: number;
}
