// Benchmark `npm run bench:run`: what `vmlaunch run` costs on top of the VM it boots. Alternating
// rounds of (a) `vmlaunch run --share DIR:/src -- true` and (b) the baseline: a minimal script
// that starts virtiofsd and QEMU with the very argv vmlaunch uses (read from a launched Vm) and
// waits for the guest's ready marker, then kills them. Both are fresh `node --import tsx`
// processes, so the TypeScript loader is on both sides. Medians; last line
// `run-overhead-ratio: <a / b>`.
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunWorkloadFlags } from '../launcher/cli/run-workload.js';
import { GUEST_READY_MARKER } from '../launcher/guest-shell.js';
import { launch } from '../launcher/launch.js';
import { runLaunchOptions } from '../launcher/run-in-vm.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** What the baseline starts: QEMU's argv and each virtiofsd's argv, as vmlaunch ran them. */
interface BaselineSpec {
  qemu: string[];
  virtiofsd: string[][];
}

// Runs `node --import tsx ARGS` from the repo; resolves with its wall time in ms.
function timed(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`)),
    );
  });
}

// Connects to a unix socket once something listens there.
async function connectWhenListening(path: string): Promise<Socket> {
  for (let i = 0; i < 2000; i++) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect({ path });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket) return socket;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`nothing listens on ${path}`);
}

// The baseline: virtiofsd(s), then QEMU with the same argv (its chardev fds: qmp and console
// as socketpairs, the others the virtiofsd connections in order), until the ready marker.
async function baseline(spec: BaselineSpec): Promise<void> {
  const daemons = spec.virtiofsd.map((argv) => {
    const socketPath = argv.find((a) => a.startsWith('--socket-path='))!.split('=')[1]!;
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
    rmSync(socketPath, { force: true });
    return { child: spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }), socketPath };
  });
  const connections = await Promise.all(daemons.map((d) => connectWhenListening(d.socketPath)));
  const stdio: StdioOptions = ['ignore', 'ignore', 'ignore'];
  let consoleFd = -1;
  let next = 0;
  for (const arg of spec.qemu) {
    const found = /^socket,id=([^,]+),.*\bfd=(\d+)/.exec(arg);
    if (!found) continue;
    const fd = Number(found[2]);
    if (found[1] === 'console') consoleFd = fd;
    stdio[fd] = found[1] === 'qmp' || found[1] === 'console' ? 'pipe' : connections[next++]!;
  }
  const qemu = spawn(spec.qemu[0]!, spec.qemu.slice(1), { stdio });
  const console = qemu.stdio[consoleFd] as Socket;
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    console.on('data', (c: Buffer) => {
      seen = (seen + c.toString()).slice(-200);
      if (seen.includes(GUEST_READY_MARKER)) resolve();
    });
    qemu.once('exit', (code) => reject(new Error(`QEMU exited ${code} before the marker`)));
  });
  qemu.kill('SIGKILL');
  for (const d of daemons) d.child.kill('SIGKILL');
  for (const c of connections) c.destroy();
  rmSync(dirname(daemons[0]?.socketPath ?? '/nonexistent/x'), { recursive: true, force: true });
}

if (process.argv[2] === '--baseline') {
  await baseline(JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as BaselineSpec);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'vml-bench-run-'));
try {
  const src = join(work, 'src');
  mkdirSync(src);
  const flags = ['--share', `${src}:/src`];
  // The VM `vmlaunch run` boots, launched once to read its argv (and its virtiofsd's).
  const vm = await launch(await runLaunchOptions(parseRunWorkloadFlags(flags)));
  const shares = (vm as unknown as { shares?: Array<{ argv: readonly string[] }> }).shares ?? [];
  const spec: BaselineSpec = {
    qemu: [...vm.command.argv],
    virtiofsd: shares.map((s) => [...s.argv]),
  };
  await vm.shutdown({ timeout: 0 });
  const specFile = join(work, 'baseline.json');
  writeFileSync(specFile, JSON.stringify(spec));
  if (spec.virtiofsd.length === 0)
    console.log('note: launch() started no virtiofsd (shares not supported in this tree)');

  const runs: number[] = [];
  const bases: number[] = [];
  const ours = (): Promise<number> =>
    timed(['launcher/cli/main.ts', 'run', ...flags, '--', 'true']).then((ms) => runs.push(ms));
  const theirs = (): Promise<number> =>
    timed(['bench/run.bench.ts', '--baseline', specFile]).then((ms) => bases.push(ms));
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) await ours().then(theirs);
    else await theirs().then(ours);
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(
    `vmlaunch run --share DIR:/src -- true: median ${median(runs).toFixed(0)} ms over ${runs.length}`,
  );
  console.log(
    `baseline (virtiofsd + QEMU, same argv, to the ready marker): median ${median(bases).toFixed(0)} ms over ${bases.length}`,
  );
  console.log(`run-overhead-ratio: ${(median(runs) / median(bases)).toFixed(3)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
  if (existsSync(work)) console.error(`left behind: ${work}`);
}
