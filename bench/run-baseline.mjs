// The baseline of bench/run.bench.ts, plain JavaScript on node's own modules only: starts each
// virtiofsd and then QEMU with the argv vmlaunch used for the same VM (read from a spec file),
// waits for the guest's ready marker on the console, kills them. Usage: node run-baseline.mjs SPEC
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// The default guest's ready marker (bench/run.bench.ts checks it is the launcher's).
const READY_MARKER = 'VMLAUNCH-GUEST-READY';

// Connects to a unix socket once something listens there.
async function connectWhenListening(path) {
  for (let i = 0; i < 2000; i++) {
    const socket = await new Promise((resolve) => {
      const s = connect({ path });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) return socket;
    await sleep(5);
  }
  throw new Error(`nothing listens on ${path}`);
}

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const daemons = spec.virtiofsd.map((argv) => {
  const socketPath = argv.find((a) => a.startsWith('--socket-path=')).split('=')[1];
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  rmSync(socketPath, { force: true });
  return { child: spawn(argv[0], argv.slice(1), { stdio: 'ignore' }), socketPath };
});
const connections = await Promise.all(daemons.map((d) => connectWhenListening(d.socketPath)));
// QEMU's chardev fds: qmp and console as socketpairs, the others the virtiofsd connections.
const stdio = ['ignore', 'ignore', 'ignore'];
let consoleFd = -1;
let next = 0;
for (const arg of spec.qemu) {
  const found = /^socket,id=([^,]+),.*\bfd=(\d+)/.exec(arg);
  if (!found) continue;
  const fd = Number(found[2]);
  if (found[1] === 'console') consoleFd = fd;
  stdio[fd] = found[1] === 'qmp' || found[1] === 'console' ? 'pipe' : connections[next++];
}
for (let fd = 0; fd < stdio.length; fd++) stdio[fd] ??= 'ignore';
const qemu = spawn(spec.qemu[0], spec.qemu.slice(1), { stdio });
await new Promise((resolve, reject) => {
  let seen = '';
  qemu.stdio[consoleFd].on('data', (c) => {
    seen = (seen + c.toString()).slice(-200);
    if (seen.includes(READY_MARKER)) resolve();
  });
  qemu.once('exit', (code) => reject(new Error(`QEMU exited ${code} before the marker`)));
});
qemu.kill('SIGKILL');
for (const d of daemons) d.child.kill('SIGKILL');
for (const c of connections) c.destroy();
if (daemons.length > 0) rmSync(dirname(daemons[0].socketPath), { recursive: true, force: true });
process.exit(0);
