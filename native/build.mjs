// Builds the native addon with node-gyp against the running Node's own headers (no download).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Node's headers live in <prefix>/include/node next to <prefix>/bin/node.
const nodedir = resolve(dirname(process.execPath), '..');
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  console.error(
    `vmlaunch: Node headers not found under ${nodedir}/include/node (needed to build the addon offline).`,
  );
  process.exit(1);
}

// Prefer the node-gyp npm runs scripts with; fall back to the copy bundled with npm.
const candidates = [
  process.env.npm_config_node_gyp,
  join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(here, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
if (candidates.length === 0) {
  console.error(
    "vmlaunch: node-gyp not found (looked at $npm_config_node_gyp and npm's bundled copy).",
  );
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  [candidates[0], 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'],
  {
    cwd: here,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
