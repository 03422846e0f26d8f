#!/usr/bin/env node
// install.mjs — entrena's "install" script. It never downloads anything.
//
// When the prebuilt addon for this machine is installed — the optionalDependency
// @entrena/<platform>-<arch> at entrena's own version, which npm installs only where its os/cpu/libc
// fields match — and it loads, or ENTRENA_ADDON names an addon, there is nothing to do. Otherwise it
// hands over to node-gyp-build, which takes a local build or a matching prebuild when there is one
// and else compiles the addon from the shipped sources (binding.gyp, native/: a C++17 compiler,
// make and python3). The run-time choice is lib/ts/loader.ts; this script follows its order for the
// CPU candidates (a CUDA package needs no install step: without a GPU the CPU addon is used).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const say = (m) => console.log(`entrena: ${m}`);

function prebuiltPackage() {
  const name = `@entrena/${process.platform}-${process.arch}`;
  let pkgFile;
  try {
    pkgFile = require.resolve(`${name}/package.json`);
  } catch {
    return { ok: false, why: `${name} is not installed` };
  }
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (pkg.version !== version) return { ok: false, why: `${name} is at version ${pkg.version}, entrena at ${version}` };
  const addon = join(dirname(pkgFile), 'entrena.node');
  try {
    require(addon);
  } catch (e) {
    return { ok: false, why: `${name} does not load here: ${String(e?.message ?? e).split('\n')[0]}` };
  }
  return { ok: true, why: `using the prebuilt addon ${name}@${pkg.version}` };
}

if (process.env.ENTRENA_ADDON) {
  say(`ENTRENA_ADDON is set (${process.env.ENTRENA_ADDON}); nothing to build`);
  process.exit(0);
}
const prebuilt = prebuiltPackage();
if (prebuilt.ok) {
  say(prebuilt.why);
  process.exit(0);
}
say(`${prebuilt.why}; node-gyp-build: a local build or prebuild, else compiling from source`);
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`entrena: could not run node-gyp-build: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
