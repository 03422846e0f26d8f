/**
 * mc_dropout.ts — Monte-Carlo dropout (Gal & Ghahramani 2016): predictive mean and spread from
 * several stochastic forward passes with dropout kept active while everything else (batch norm)
 * runs in eval mode.
 */
import { noGrad } from '../autograd/engine.js';
import { checkOptions, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { stack } from '../ops/index.js';
import { Tensor, tidy } from '../tensor.js';
import { AlphaDropout, Dropout } from './layers.js';
import { Module } from './module.js';

/**
 * Runs `passes` forward passes of `model` on `x` under noGrad, with every Dropout / AlphaDropout
 * in training mode and the rest in eval mode, and returns the elementwise mean and standard
 * deviation (population, divisor `passes`) of the outputs. The modules' modes are restored.
 * @example
 * const { mean, std } = nn.mcDropoutPredict(model, x, { passes: 50 });
 */
export function mcDropoutPredict(model: Module, x: Tensor, options: { passes?: number } = {}): { mean: Tensor; std: Tensor } {
  options = checkOptions<typeof options>(options, 'mcDropoutPredict', ['passes']);
  if (!(model instanceof Module)) throw new ArgumentError(`mcDropoutPredict: expected model to be an nn.Module, received ${describe(model)}`);
  if (!(x instanceof Tensor)) throw new ArgumentError(`mcDropoutPredict: expected x to be a Tensor, received ${describe(x)}`);
  const passes = checkPositiveInt(options.passes ?? 20, 'mcDropoutPredict', 'passes');
  const mods = model.modules();
  const modes = mods.map((m) => m.training);
  try {
    for (const m of mods) m.training = m instanceof Dropout || m instanceof AlphaDropout;
    return noGrad(() => tidy(() => {
      const outs: Tensor[] = [];
      for (let i = 0; i < passes; i++) outs.push(model.forward(x));
      const s = stack(outs, 0);
      return { mean: s.mean(0), std: s.std(0, { unbiased: false }) };
    }));
  } finally {
    mods.forEach((m, i) => { m.training = modes[i]; });
  }
}
