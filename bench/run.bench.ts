// Benchmark `npm run bench:run`: what `vmlaunch run` costs on top of the VM it boots. Alternating
// rounds of (a) `vmlaunch run --share DIR:/src -- true` and (b) the baseline, bench/run-baseline.mjs:
// a minimal script that starts virtiofsd and QEMU with the very argv vmlaunch uses (read from a
// launched Vm) and waits for the guest's ready marker, then kills them. Both are fresh plain
// `node` processes: the CLI is the compiled one users run (bin/vmlaunch.js over dist/, built here
// first), so no TypeScript loader sits on either side. Medians; last line
// `run-overhead-ratio: <a / b>`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunWorkloadFlags } from '../launcher/cli/run-workload.js';
import { GUEST_READY_MARKER } from '../launcher/guest-shell.js';
import { launch } from '../launcher/launch.js';
import { runLaunchOptions } from '../launcher/run-in-vm.js';
import { BenchReport } from './report.js';

const report = new BenchReport('run', {
  what: '`vmlaunch run --share DIR:/src -- true` (the compiled CLI, a fresh node process) end to end',
  baseline:
    'bench/run-baseline.mjs: virtiofsd and QEMU with the same argv to the guest ready marker, rounds alternating',
});

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BASELINE = join(REPO, 'bench', 'run-baseline.mjs');

// Runs `node ARGS` from the repo; resolves with its wall time in ms.
function timed(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`node ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`)),
    );
  });
}

if (!readFileSync(BASELINE, 'utf8').includes(`'${GUEST_READY_MARKER}'`))
  throw new Error(`${BASELINE} does not wait for ${GUEST_READY_MARKER}`);
console.log('building dist/ (tsc -p tsconfig.build.json) for bin/vmlaunch.js...');
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  cwd: REPO,
  stdio: 'inherit',
});

const work = mkdtempSync(join(tmpdir(), 'vml-bench-run-'));
try {
  const src = join(work, 'src');
  mkdirSync(src);
  const flags = ['--share', `${src}:/src`];
  // The VM `vmlaunch run` boots, launched once to read its argv (and its virtiofsds').
  // Launched unconfined: the baseline replays this argv as plain processes, and a jailed argv
  // names the kernel and initrd by fds only the jail helper holds. `vmlaunch run` itself (the
  // measured side) runs jailed, as by default, so the ratio includes the jail's cost.
  const { scan: _scan, ...flagged } = parseRunWorkloadFlags(flags);
  const vm = await launch({ ...(await runLaunchOptions(flagged)), confine: false });
  report.accel(vm.accel.accel);
  const shares = (vm as unknown as { shares?: Array<{ argv: readonly string[] }> }).shares ?? [];
  const spec = { qemu: [...vm.command.argv], virtiofsd: shares.map((s) => [...s.argv]) };
  await vm.shutdown({ timeout: 0 });
  const specFile = join(work, 'baseline.json');
  writeFileSync(specFile, JSON.stringify(spec));
  if (spec.virtiofsd.length === 0)
    console.log('note: launch() started no virtiofsd (shares not supported in this tree)');

  const runs: number[] = [];
  const bases: number[] = [];
  const ours = async (): Promise<void> =>
    void runs.push(await timed(['bin/vmlaunch.js', 'run', ...flags, '--', 'true']));
  const theirs = async (): Promise<void> => void bases.push(await timed([BASELINE, specFile]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of i % 2 === 0 ? [ours, theirs] : [theirs, ours]) await side();
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(
    `vmlaunch run --share DIR:/src -- true: median ${median(runs).toFixed(0)} ms over ${runs.length}`,
  );
  console.log(
    `baseline (virtiofsd + QEMU, same argv, to the ready marker): median ${median(bases).toFixed(0)} ms over ${bases.length}`,
  );
  report.samples('vmlaunch run', runs);
  report.samples('baseline (virtiofsd + QEMU, same argv)', bases);
  report.ratio(
    'run-overhead-ratio',
    median(runs) / median(bases),
    'median vmlaunch run / median baseline',
  );
  report.write();
} finally {
  rmSync(work, { recursive: true, force: true });
  if (existsSync(work)) console.error(`left behind: ${work}`);
}
