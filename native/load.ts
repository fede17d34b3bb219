// Finds and loads the compiled addon, naming every path it tried when none loads.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeBinding } from './binding-types.js';
import { VmlaunchError } from '../core/index.js';

const require = createRequire(import.meta.url);
const FILE = 'vmlaunch_native.node';

// The package root: this file runs from native/ (tsx, vitest) or dist/native/ (compiled).
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, '..');
  return existsSync(join(up, 'package.json')) ? up : resolve(here, '..', '..');
}

/** Paths the loader tries, in order: $VMLAUNCH_NATIVE, then the node-gyp Release/Debug builds. */
export function candidatePaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const root = packageRoot();
  const paths = [
    join(root, 'native', 'build', 'Release', FILE),
    join(root, 'native', 'build', 'Debug', FILE),
  ];
  return env.VMLAUNCH_NATIVE ? [env.VMLAUNCH_NATIVE, ...paths] : paths;
}

// Loads the first candidate that exists; a missing binary is a typed error listing each path.
export function loadBinding(paths: string[] = candidatePaths()): NativeBinding {
  const tried: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) {
      tried.push(`${path} (not found)`);
      continue;
    }
    try {
      return require(path) as NativeBinding;
    } catch (error) {
      throw new VmlaunchError(`cannot load the vmlaunch addon at ${path}`, 'NATIVE_LOAD', {
        cause: error,
      });
    }
  }
  throw new VmlaunchError(
    `the vmlaunch native addon is not built; tried:\n  ${tried.join('\n  ')}\n` +
      'Build it with `npm run build` (it needs g++, make and python3).',
    'NATIVE_MISSING',
  );
}

// A helper program built next to the addon (node-gyp's Release/Debug dirs); a missing one is a
// typed error naming where it was looked for.
export function locateHelper(name: string): string {
  const root = packageRoot();
  const paths = ['Release', 'Debug'].map((d) => join(root, 'native', 'build', d, name));
  const found = paths.find((p) => existsSync(p));
  if (found) return found;
  throw new VmlaunchError(
    `the vmlaunch helper ${name} is not built; tried:\n  ${paths.join('\n  ')}\n` +
      'Build it with `npm run build` (it needs gcc, make and python3).',
    'NATIVE_MISSING',
  );
}
