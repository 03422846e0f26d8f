/**
 * module.ts — `nn.Module`, the base of every layer, activation and loss, following the PyTorch
 * module contract (DESIGN principle 14): parameters vs buffers vs child modules registered by
 * name, `train()` / `eval()`, state dicts whose keys are `torch.nn`'s (`'0.weight'`,
 * `'1.running_mean'`, `'1.num_batches_tracked'`), so checkpoints move between the two.
 *
 * Registration is explicit (`registerParameter`, `registerBuffer`, `registerModule`), and each
 * registered name also becomes an accessor property on the instance (`this.weight`), backed by
 * the registry: assigning `layer.weight = t` replaces the registered tensor, as `setattr` does in
 * PyTorch. Order of registration is the order of `namedParameters()` and of the state dict.
 *
 * Not here: hooks, `named_modules` memo sets beyond identity de-duplication, parametrizations.
 */
import { noGrad } from '../autograd/engine.js';
import { checkOptions as checkOptionsOnce, shapeStr } from '../check.js';
import { ArgumentError, DTypeError, EntrenaError, ShapeError, describe } from '../errors.js';
import { Tensor, checkDevice, keep, type DeviceName, type DType } from '../tensor.js';

/** What `loadStateDict` reports (as PyTorch's `_IncompatibleKeys`). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A state dict: PyTorch-style dotted names to tensors. */
export type StateDict = Record<string, Tensor>;

const NAME_RE = /^[^.]+$/;

type SlotKind = 'parameter' | 'buffer' | 'module';

/**
 * Base class of all layers. Subclasses register their tensors in the constructor and implement
 * `forward`.
 * @example
 * class TwoLayer extends nn.Module {
 *   declare fc1: nn.Linear; declare fc2: nn.Linear;
 *   constructor() {
 *     super();
 *     this.registerModule('fc1', new nn.Linear(4, 8));
 *     this.registerModule('fc2', new nn.Linear(8, 2));
 *   }
 *   override forward(x: Tensor): Tensor { return this.fc2.forward(this.fc1.forward(x).relu()); }
 * }
 * const m = new TwoLayer();
 * m.namedParameters().map(([n]) => n); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 */
export abstract class Module {
  /** True in training mode (the default), false after `eval()`. */
  training = true;
  /** @internal */ readonly _parameters = new Map<string, Tensor | null>();
  /** @internal */ readonly _buffers = new Map<string, Tensor | null>();
  /** @internal */ readonly _nonPersistent = new Set<string>();
  /** @internal */ readonly _modules = new Map<string, Module>();

  /** The computation. Losses take `(prediction, target)`. */
  abstract forward(input: Tensor, ...rest: any[]): Tensor; // eslint-disable-line @typescript-eslint/no-explicit-any

  // ---- registration ----------------------------------------------------------------------------

  /** Checks a new registration's name, then binds its accessor. */
  private defineSlot(name: string, where: string, kind: SlotKind): void {
    if (typeof name !== 'string' || !NAME_RE.test(name) || name === '')
      throw new ArgumentError(`${where}: expected a non-empty name without '.', received ${describe(name)}`);
    for (const [k, map] of [['parameter', this._parameters], ['buffer', this._buffers], ['module', this._modules]] as const)
      if (map.has(name)) throw new ArgumentError(`${where}: '${name}' is already registered as a ${k}`);
    const own = Object.getOwnPropertyDescriptor(this, name);
    if ((own && !own.configurable) || (!own && name in this && typeof (this as Record<string, unknown>)[name] === 'function'))
      throw new ArgumentError(`${where}: '${name}' clashes with an existing member of ${this.constructor.name}`);
    this.bindSlot(name, kind);
  }

  /** The accessor property `this[name]`, backed by the registry of `kind` (as PyTorch's `setattr`). */
  private bindSlot(name: string, kind: SlotKind): void {
    const fail = (expected: string, v: unknown): never => {
      throw new ArgumentError(`${this.constructor.name}.${name}: expected ${expected}, received ${describe(v)}`);
    };
    let get: () => unknown, set: (v: unknown) => void;
    if (kind === 'module') {
      get = () => this._modules.get(name);
      set = (v) => { if (!(v instanceof Module)) fail('an nn.Module', v); this._modules.set(name, v as Module); };
    } else {
      const map = kind === 'parameter' ? this._parameters : this._buffers;
      get = () => map.get(name) ?? null;
      set = (v) => {
        if (v !== null && !(v instanceof Tensor)) fail('a Tensor or null', v);
        const t = v as Tensor | null;
        if (kind === 'parameter' && t) {
          if (!t.isLeaf) throw new ArgumentError(`${this.constructor.name}.${name}: a parameter must be a leaf tensor (use detach())`);
          if (!t.requiresGrad) t.requiresGrad = true;
        }
        map.set(name, t);
      };
    }
    Object.defineProperty(this, name, { get, set, enumerable: true, configurable: true });
  }

  /**
   * Registers a learnable tensor (it gets `requiresGrad = true`). `null` registers a missing
   * optional parameter (as `bias=False`), which is skipped by `parameters()` and the state dict.
   * @example this.registerParameter('weight', zeros([out, in]));
   */
  registerParameter(name: string, value: Tensor | null): void {
    if (value !== null && !(value instanceof Tensor)) throw new ArgumentError(`registerParameter: expected a Tensor or null for '${name}', received ${describe(value)}`);
    if (value && value.dtype === 'int32') throw new DTypeError(`registerParameter: parameter '${name}' must be floating point, received int32`);
    this.defineSlot(name, 'registerParameter', 'parameter');
    if (value && !value.requiresGrad) value.requiresGrad = true;
    this._parameters.set(name, value);
  }

  /**
   * Registers a state tensor that is not learned (running statistics). Persistent buffers are in
   * the state dict.
   * @example this.registerBuffer('running_mean', zeros([c]));
   */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    if (value !== null && !(value instanceof Tensor)) throw new ArgumentError(`registerBuffer: expected a Tensor or null for '${name}', received ${describe(value)}`);
    this.defineSlot(name, 'registerBuffer', 'buffer');
    this._buffers.set(name, value);
    if (options.persistent === false) this._nonPersistent.add(name);
  }

  /** Registers a child module; its names are prefixed with `name.`. @example this.registerModule('fc', new nn.Linear(2, 3)); */
  registerModule<M extends Module>(name: string, module: M): M {
    if (!(module instanceof Module)) throw new ArgumentError(`registerModule: expected an nn.Module for '${name}', received ${describe(module)}`);
    this.defineSlot(name, 'registerModule', 'module');
    this._modules.set(name, module);
    return module;
  }

  /**
   * A deep copy, as Python's `copy.deepcopy(module)`: an instance of the same class with the same
   * options and mode, whose parameters, buffers (and their gradients) and child modules are its
   * own copies. Tensors shared inside the module stay shared in the copy (tied weights); the
   * copies outlive any enclosing `tidy`. Fields that are functions or class instances other than
   * tensors and modules (a callback, say) are shared, not copied.
   * @example
   * const averaged = model.clone(); // same architecture and weights, independent of model
   */
  clone(): this {
    return noGrad(() => deepCopy(this, new Map())) as this;
  }

  // ---- traversal -------------------------------------------------------------------------------

  /** Direct children with their names. */
  namedChildren(): [string, Module][] { return [...this._modules.entries()]; }
  /** Direct children. */
  children(): Module[] { return [...this._modules.values()]; }

  /** This module and every descendant, with dotted names ('' for this one); each module once. */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n, seen));
    return out;
  }
  /** This module and every descendant. */
  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /**
   * Parameters with dotted names, as `torch.nn.Module.named_parameters` (a tensor shared by two
   * modules is listed once).
   * @example new nn.Sequential(new nn.Linear(2, 3)).namedParameters().map(([n]) => n) // ['0.weight', '0.bias']
   */
  namedParameters(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.collect('_parameters', options.recurse ?? true, false);
  }
  /** The parameters (for an optimizer). @example new optim.SGD(model.parameters(), { lr: 0.1 }) */
  parameters(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(options).map(([, t]) => t);
  }
  /** Buffers with dotted names. */
  namedBuffers(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.collect('_buffers', options.recurse ?? true, false);
  }
  /** The buffers (running statistics). */
  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(options).map(([, t]) => t);
  }

  private collect(kind: '_parameters' | '_buffers', recurse: boolean, persistentOnly: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of mods) {
      for (const [n, t] of m[kind]) {
        if (!t || seen.has(t)) continue;
        if (persistentOnly && kind === '_buffers' && m._nonPersistent.has(n)) continue;
        seen.add(t);
        out.push([prefix ? `${prefix}.${n}` : n, t]);
      }
    }
    return out;
  }

  // ---- modes -----------------------------------------------------------------------------------

  /** Sets training mode on this module and its descendants; returns this. @example model.train() */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new ArgumentError(`train: expected mode to be a boolean, received ${describe(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (dropout off, batch norm uses running statistics); returns this. @example model.eval() */
  eval(): this { return this.train(false); }

  /** Calls `fn` on every descendant (children first) and then on this module; returns this. @example model.apply((m) => { if (m instanceof nn.Linear) nn.init.zeros(m.bias!); }) */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function') throw new ArgumentError(`apply: expected a function, received ${describe(fn)}`);
    for (const m of this._modules.values()) m.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Re-initialises every parameter of this module and its descendants with the layer's default
   * initialisation (as calling `reset_parameters()` on each PyTorch module).
   * @example model.resetParameters();
   */
  resetParameters(): this {
    noGrad(() => { for (const m of this.modules()) m.resetOwnParameters(); });
    return this;
  }
  /** Layers override this to (re)initialise their own parameters and buffers. */
  protected resetOwnParameters(): void { /* no parameters */ }

  /** Clears the gradients of all parameters (sets `.grad` to null). @example model.zeroGrad() */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Freezes all parameters (or only those whose dotted name starts with one of `prefixes`):
   * `requiresGrad = false`, so they get no gradient and hence no optimizer update. Their current
   * gradients are cleared. Returns this.
   * @example model.freeze(); head.unfreeze(); // fine-tune the head only
   */
  freeze(prefixes?: string[]): this { return this.setRequiresGrad(false, prefixes); }
  /** Undoes `freeze` (for all parameters, or those matching `prefixes`). Returns this. */
  unfreeze(prefixes?: string[]): this { return this.setRequiresGrad(true, prefixes); }
  private setRequiresGrad(v: boolean, prefixes?: string[]): this {
    if (prefixes !== undefined && (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string')))
      throw new ArgumentError(`${v ? 'unfreeze' : 'freeze'}: expected an array of name prefixes, received ${describe(prefixes)}`);
    for (const [n, p] of this.namedParameters()) {
      if (prefixes && !prefixes.some((pre) => n === pre || n.startsWith(pre.endsWith('.') ? pre : pre + '.'))) continue;
      p.requiresGrad = v;
      if (!v) p.grad = null;
    }
    return this;
  }

  // ---- state dict ------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by PyTorch's names, in PyTorch's order (each module's
   * parameters, then its buffers, then its children). The values are the module's own tensors
   * (shared memory, as PyTorch's detached views): `clone()` them to keep a snapshot.
   * @example Object.keys(new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3)).stateDict())
   * // ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const walk = (m: Module, prefix: string, seen: Set<Module>): void => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const [n, t] of m._parameters) if (t) out[prefix + n] = t;
      for (const [n, t] of m._buffers) if (t && !m._nonPersistent.has(n)) out[prefix + n] = t;
      for (const [n, c] of m._modules) walk(c, `${prefix}${n}.`, seen);
    };
    walk(this, '', new Set());
    return out;
  }

  /**
   * Copies values from a state dict into this module's tensors (in place: parameter identity is
   * kept, so an existing optimizer stays valid). With `strict` (default), a missing or an
   * unexpected key is an error; a shape mismatch is always an error. The error lists every bad
   * key at once. `num_batches_tracked` may be absent. Values are converted to each tensor's
   * dtype and device.
   * @example model.loadStateDict(other.stateDict());
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    if (stateDict === null || typeof stateDict !== 'object' || stateDict instanceof Tensor)
      throw new ArgumentError(`loadStateDict: expected a plain object of { name: Tensor }, received ${describe(stateDict)}`);
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing: string[] = [], unexpected: string[] = [], mismatched: string[] = [], invalid: string[] = [];
    for (const k of Object.keys(own)) {
      if (!(k in stateDict) && !(k === 'num_batches_tracked' || k.endsWith('.num_batches_tracked'))) missing.push(k);
    }
    for (const [k, v] of Object.entries(stateDict)) {
      const dst = own[k];
      if (!dst) { unexpected.push(k); continue; }
      if (!(v instanceof Tensor)) { invalid.push(`${k} (expected a Tensor, received ${describe(v)})`); continue; }
      if (v.isDisposed) { invalid.push(`${k} (the tensor has been disposed)`); continue; }
      if (v.shape.length !== dst.shape.length || v.shape.some((d, i) => d !== dst.shape[i]))
        mismatched.push(`${k} (expected shape ${shapeStr(dst.shape)}, received ${shapeStr(v.shape)})`);
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys: ${missing.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.map((k) => `'${k}'`).join(', ')}`);
    if (mismatched.length) problems.push(`shape mismatches: ${mismatched.join(', ')}`);
    if (invalid.length) problems.push(`invalid values: ${invalid.join(', ')}`);
    if (problems.length) {
      const msg = `loadStateDict: cannot load the state dict into ${this.constructor.name}: ${problems.join('; ')}`;
      const onlyShapes = mismatched.length && problems.length === 1;
      throw onlyShapes ? new ShapeError(msg) : new ArgumentError(msg);
    }
    noGrad(() => {
      for (const [k, v] of Object.entries(stateDict)) {
        const dst = own[k];
        if (dst && dst !== v) dst.copy_(v);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  // ---- devices and dtypes ----------------------------------------------------------------------

  /**
   * Moves every parameter and buffer to `device`, or converts the floating-point ones to `dtype`
   * ('float32' | 'float64' | 'bfloat16' | 'float16': 16-bit models serve inference; to train in
   * 16 bits keep float32 parameters and use `amp.autocast`); returns this. Tensors already there are untouched. Others are
   * replaced by new tensors (with their gradients moved too) and the old ones disposed: create
   * the optimizer after `to()`, as PyTorch recommends, since an optimizer built before holds the
   * old tensors.
   * @example const model = new nn.Linear(4, 2).to('cuda');
   */
  to(target: DeviceName | DType): this {
    const isDtype = target === 'float32' || target === 'float64' || target === 'bfloat16' || target === 'float16';
    if (target === 'int32') throw new DTypeError("to: a module's parameters cannot be converted to int32");
    if (!isDtype) checkDevice(target, 'Module.to');
    const convert = (t: Tensor): Tensor => {
      if (isDtype) return t.dtype === 'int32' || t.dtype === target ? t : t.cast(target as DType);
      return t.device === target ? t : t.to(target as DeviceName);
    };
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [n, p] of m._parameters) {
          if (!p) continue;
          const q = convert(p);
          if (q === p) continue;
          const fresh = q; // made under noGrad: a leaf
          fresh.requiresGrad = p.requiresGrad;
          if (p.grad) {
            const g = convert(p.grad);
            fresh.grad = g === p.grad ? g.clone() : g;
          }
          m._parameters.set(n, fresh);
          p.dispose();
        }
        for (const [n, b] of m._buffers) {
          if (!b) continue;
          const q = convert(b);
          if (q === b) continue;
          m._buffers.set(n, q);
          b.dispose();
        }
      }
    });
    return this;
  }

  /** A short description with the layer's options, as PyTorch's `repr`. */
  toString(): string {
    const extra = this.extraRepr();
    const kids = [...this._modules].map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    if (!kids.length) return `${this.constructor.name}(${extra})`;
    return `${this.constructor.name}(${extra ? extra + '\n' : '\n'}${kids.join('\n')}\n)`;
  }
  /** The options shown by `toString()`. */
  protected extraRepr(): string { return ''; }
}

/**
 * The structure-preserving copy behind `Module.clone`: tensors are cloned (leaf, same
 * `requiresGrad`, gradient cloned too), modules are rebuilt field by field on their prototype with
 * their accessors re-bound to the copy, arrays, maps, sets, typed arrays and plain objects are
 * copied; anything else is shared. `memo` keeps sharing (and cycles) as they were.
 */
function deepCopy(value: unknown, memo: Map<unknown, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (memo.has(value)) return memo.get(value);
  if (value instanceof Tensor) {
    value.assertAlive('clone');
    const t = keep(value.clone()); // under noGrad (see Module.clone): a new leaf
    if (value.requiresGrad) t.requiresGrad = true;
    memo.set(value, t);
    if (value.grad) t.grad = keep(value.grad.clone());
    return t;
  }
  if (value instanceof Module) {
    const copy = Object.create(Object.getPrototypeOf(value)) as Module;
    memo.set(value, copy);
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key)!;
      if (d.get || d.set) continue; // a registered slot: re-bound below, on the copy
      Object.defineProperty(copy, key, { ...d, value: deepCopy(d.value, memo) });
    }
    const slots = copy as unknown as { bindSlot(name: string, kind: SlotKind): void };
    for (const [map, kind] of [[copy._parameters, 'parameter'], [copy._buffers, 'buffer'], [copy._modules, 'module']] as const)
      for (const name of map.keys()) slots.bindSlot(name, kind);
    return copy;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    memo.set(value, out);
    for (const v of value) out.push(deepCopy(v, memo));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    memo.set(value, out);
    for (const [k, v] of value) out.set(k, deepCopy(v, memo));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    memo.set(value, out);
    for (const v of value) out.add(deepCopy(v, memo));
    return out;
  }
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): unknown }).slice();
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: Record<PropertyKey, unknown> = Object.create(proto);
    memo.set(value, out);
    for (const key of Reflect.ownKeys(value)) out[key] = deepCopy((value as Record<PropertyKey, unknown>)[key], memo);
    return out;
  }
  return value;
}

/** @internal A live Tensor, else ERR_INVALID_ARGUMENT (ERR_DISPOSED when disposed). */
export function checkInput(x: unknown, where: string): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${where}: expected the input to be a Tensor, received ${describe(x)}`);
  x.assertAlive(where);
  return x;
}
/**
 * @internal A live floating-point Tensor. An int32 one is ERR_DTYPE, as the ops' dtype rule (one
 * rule, one code: a dtype problem is a DTypeError wherever it is found).
 */
export function checkFloatInput(x: unknown, where: string, what = 'input'): Tensor {
  const t = checkInput(x, where);
  if (t.dtype === 'int32') throw new DTypeError(`${where}: expected a floating-point ${what} (float32 or float64), received int32; convert it with .cast('float32')`);
  return t;
}
/** @internal The library's one options check (lib/ts/check.ts), with a Tensor named as such. */
export function checkOptions<T extends object>(o: unknown, where: string, allowed: string[]): T {
  if (o instanceof Tensor) throw new ArgumentError(`${where}: expected an options object, received ${describe(o)}`);
  return checkOptionsOnce<T>(o, where, allowed);
}

export { EntrenaError };
