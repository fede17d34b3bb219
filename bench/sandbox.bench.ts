// Benchmark `npx tsx bench/sandbox.bench.ts`: what confining QEMU costs at boot. Alternating
// rounds of launch -> QMP ready -> guest ready marker for the default guest without a sandbox
// (the baseline), under the full seccomp sandbox, and under the sandbox as nobody (the guest
// copied where nobody can read it). Prints the one-time probe cost, medians of wall time and of
// QEMU's own CPU time to ready (less disturbed by other load on a shared host), and the last
// line `sandbox-boot-ratio: <sandbox+nobody / baseline>` (CPU time).
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch, type LaunchOptions } from '../launcher/launch.js';
import { resolveSandbox } from '../launcher/sandbox.js';
import { probeSandbox } from '../launcher/sandbox-probe.js';
import { BenchReport } from './report.js';

const report = new BenchReport('sandbox', {
  what: 'launch() to the guest ready marker under the seccomp sandbox, and under it as nobody: QEMU CPU time to ready',
  baseline: 'the same boot without a sandbox, rounds alternating',
});

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const image = await locateGuestImage();
const cmdline = GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console='));
const dir = mkdtempSync(join(tmpdir(), 'vml-bench-sandbox-'));
chmodSync(dir, 0o755);
const kernel = join(dir, 'vmlinuz');
const initrd = join(dir, 'initrd.img');
copyFileSync(image.kernel, kernel);
copyFileSync(image.initrd, initrd);

type Variant = 'baseline' | 'sandbox' | 'sandbox+nobody';
const variants: Record<Variant, Partial<LaunchOptions>> = {
  baseline: { sandbox: false },
  sandbox: { sandbox: true },
  'sandbox+nobody': { sandbox: true, runAs: { user: 'nobody' } },
};

// CPU time (user + system) a process has used, in ms (/proc/<pid>/stat fields 14 and 15).
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Boot {
  qmp: number;
  ready: number;
  cpu: number;
}

// One boot: ms to QMP ready and to the guest's ready marker, and QEMU's CPU ms by then; a
// hang is a failure, not a time.
async function bootOnce(variant: Variant): Promise<Boot | undefined> {
  const started = performance.now();
  const vm = await launch({ kernel, initrd, cmdline, template: 'q35', ...variants[variant] });
  report.accel(vm.accel.accel);
  const qmp = performance.now() - started;
  try {
    await vm.guest.waitReady({ timeout: 30_000 });
    return { qmp, ready: performance.now() - started, cpu: cpuMs(vm.pid) };
  } catch {
    return undefined;
  } finally {
    await vm.shutdown({ timeout: 5000 });
  }
}

try {
  const probeStart = performance.now();
  await probeSandbox({ policy: resolveSandbox(true)! });
  console.log(
    `sandbox probe (once per process): ${(performance.now() - probeStart).toFixed(0)} ms`,
  );
  const names = Object.keys(variants) as Variant[];
  const qmp = new Map<Variant, number[]>(names.map((v) => [v, []]));
  const ready = new Map<Variant, number[]>(names.map((v) => [v, []]));
  const cpu = new Map<Variant, number[]>(names.map((v) => [v, []]));
  let hangs = 0;
  for (let i = 0; i < ROUNDS; i++) {
    for (const v of i % 2 === 0 ? names : [...names].reverse()) {
      const t = await bootOnce(v);
      if (t === undefined) hangs++;
      else {
        qmp.get(v)!.push(t.qmp);
        ready.get(v)!.push(t.ready);
        cpu.get(v)!.push(t.cpu);
      }
    }
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  for (const v of names) {
    console.log(
      `${v}: launch to QMP ready median ${median(qmp.get(v)!).toFixed(0)} ms, to guest ready ` +
        `median ${median(ready.get(v)!).toFixed(0)} ms (${ready
          .get(v)!
          .map((x) => x.toFixed(0))
          .join(' ')}), QEMU CPU to ready median ${median(cpu.get(v)!).toFixed(0)} ms`,
    );
  }
  console.log(`hung boots: ${hangs} of ${ROUNDS * names.length}`);
  const ratio = (v: Variant): string =>
    (median(cpu.get(v)!) / median(cpu.get('baseline')!)).toFixed(3);
  for (const v of names) {
    report.samples(`${v}: wall time to guest ready`, ready.get(v)!);
    report.samples(`${v}: QEMU CPU time to guest ready`, cpu.get(v)!);
  }
  report.value('hung boots', hangs);
  report.ratio(
    'sandbox-only-boot-ratio',
    Number(ratio('sandbox')),
    'median QEMU CPU to ready, sandbox / none',
  );
  report.ratio(
    'sandbox-boot-ratio',
    Number(ratio('sandbox+nobody')),
    'median QEMU CPU to ready, sandbox as nobody / none',
  );
  report.write();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
