// Benchmark `npm run bench:snapshot`: a booted VM back from a snapshot against a cold boot,
// same VM config (q35, the default guest, one tcfilter veth NIC in a netns of its own).
// Two configs, each booted and saved once (save time, file sizes), then rounds of four: each
// config's cold boot (launch() until the guest's shell answers) and restore (restore() until
// it answers), in an order that rotates from round to round:
// - sharedMemory: true: the RAM goes to a sparse image beside a small state file, and a
//   restore maps a private copy of it. Its ratio is the bench's `snapshot-restore-ratio`
//   (target <= 0.15), and `snapshot-restore-ratio-default-boot` against the other config's
//   cold boot (shared RAM boots slower under TCG where shared memory gets no huge pages).
// - the default (anonymous) RAM: every page goes through the state file and the load;
//   `snapshot-restore-ratio-stream`.
// Medians; the lines are `name: value` for the bench suite; a record for BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch, type LaunchOptions } from '../launcher/launch.js';
import { restore } from '../launcher/snapshot/restore.js';
import type { Vm } from '../launcher/vm.js';
import { pino } from 'pino';
import type { Logger } from '../launcher/log.js';
import { BenchReport } from './report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MEMORY_MIB = Number(process.env.BENCH_MEMORY_MIB ?? 512);

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

// A netns with a veth eth0 (the endpoint) whose peer sits in a second netns.
function makeNet(): { ns: string; remove(): void } {
  const ns = `vml-bsnap-${randomBytes(3).toString('hex')}`;
  const peer = `${ns}-p`;
  const made: string[] = [];
  const remove = (): void => {
    for (const name of made.splice(0).reverse()) ip('netns', 'del', name);
  };
  try {
    for (const name of [ns, peer]) {
      ip('netns', 'add', name);
      made.push(name);
    }
    ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peer);
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', peer, 'link', 'set', 'peer0', 'up');
  } catch (error) {
    remove();
    throw error;
  }
  return { ns, remove };
}

// Until the guest's shell has run a command.
async function answer(vm: Vm): Promise<void> {
  await vm.guest.check('true', { timeout: 60_000 });
}

const median = (v: number[]): number =>
  [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;

const report = new BenchReport('snapshot', {
  what: 'restore() until the guest shell answers, per memory config: a RAM image mapped from a private copy (sharedMemory: true), and the RAM through the state file (default RAM); save time and sizes',
  baseline:
    'a cold boot of the same VM config (launch() until the guest shell answers), in the same rounds as the restores (the order rotating)',
});

// Per-step durations of the restores (launch()'s debug 'step done' records), by step name.
function stepRecorder(): { logger: Logger; steps: Map<string, number[]> } {
  const steps = new Map<string, number[]>();
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const r = JSON.parse(line) as { step?: string; ms?: number };
        if (r.step !== undefined && r.ms !== undefined) {
          steps.set(r.step, [...(steps.get(r.step) ?? []), r.ms]);
        }
      },
    },
  );
  return { logger, steps };
}

interface ConfigResult {
  cold: number[];
  restored: number[];
  steps: Map<string, number[]>;
  saveMs: number;
  stateBytes: number;
  imageBytes?: number;
}

interface Config {
  result: ConfigResult;
  coldBoot(): Promise<number>;
  restoreOnce(): Promise<number>;
}

// One memory config: booted and saved once; its cold boots and restores are run by rounds().
async function prepare(options: LaunchOptions, state: string): Promise<Config> {
  const coldBoot = async (): Promise<number> => {
    const started = performance.now();
    const vm = await launch(options);
    try {
      await vm.guest.waitReady({ timeout: 60_000 });
      await answer(vm);
      return performance.now() - started;
    } finally {
      await vm.shutdown({ timeout: 0 });
    }
  };
  // The VM that is saved: booted, answering, then saved and shut down.
  const source = await launch(options);
  report.accel(source.accel.accel);
  await source.guest.waitReady({ timeout: 60_000 });
  await answer(source);
  const saved = await source.snapshot(state, { then: 'shutdown' });
  const recorder = stepRecorder();
  const restoreOnce = async (): Promise<number> => {
    const started = performance.now();
    const vm = await restore(state, { logger: recorder.logger });
    try {
      const answering = performance.now();
      await answer(vm);
      const answered = performance.now();
      const first = recorder.steps.get('first-command') ?? [];
      recorder.steps.set('first-command', [...first, answered - answering]);
      return answered - started;
    } finally {
      await vm.shutdown({ timeout: 0 });
    }
  };
  await restoreOnce(); // warm-up: page cache of the state file, the sandbox probe
  recorder.steps.clear();
  return {
    coldBoot,
    restoreOnce,
    result: {
      cold: [],
      restored: [],
      steps: recorder.steps,
      saveMs: saved.saveMs,
      stateBytes: saved.bytes,
      ...(saved.memoryImage ? { imageBytes: saved.memoryImage.allocatedBytes } : {}),
    },
  };
}

// ROUNDS rounds of the four measurements (each config's cold boot and restore), their order
// rotating from round to round, so that a slow stretch of the host falls on all of them.
async function rounds(configs: Config[]): Promise<void> {
  const runs = configs.flatMap((c) => [
    async () => void c.result.cold.push(await c.coldBoot()),
    async () => void c.result.restored.push(await c.restoreOnce()),
  ]);
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < runs.length; j++) await runs[(i + j) % runs.length]!();
  }
}

const guest = await locateGuestImage();
const net = makeNet();
const dir = mkdtempSync(join(tmpdir(), 'vml-bench-snapshot-'));
try {
  const options: LaunchOptions = {
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console=')),
    memoryMiB: MEMORY_MIB,
    endpoints: [
      { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns: net.ns },
    ],
  };
  const imageConfig = await prepare({ ...options, sharedMemory: true }, join(dir, 'image.state'));
  const streamConfig = await prepare(options, join(dir, 'stream.state'));
  await rounds([imageConfig, streamConfig]);
  const image = imageConfig.result;
  const stream = streamConfig.result;
  console.log(`snapshot-config: q35, ${MEMORY_MIB} MiB, one tcfilter veth NIC`);
  console.log(`snapshot-rounds: ${ROUNDS}`);
  for (const [name, r] of [
    ['image', image],
    ['stream', stream],
  ] as const) {
    const label = name === 'image' ? 'RAM image (sharedMemory: true)' : 'RAM in the state file';
    console.log(`snapshot-${name}-save-ms: ${r.saveMs.toFixed(0)}`);
    console.log(`snapshot-${name}-file-bytes: ${r.stateBytes}`);
    report.value(`${label}: save (stop to files written)`, Math.round(r.saveMs), 'ms');
    report.value(`${label}: state file`, r.stateBytes, 'bytes');
    if (r.imageBytes !== undefined) {
      console.log(`snapshot-${name}-ram-image-bytes: ${r.imageBytes}`);
      report.value(`${label}: RAM image, allocated (sparse)`, r.imageBytes, 'bytes');
    }
    report.samples(`${label}: cold boot to answer (baseline)`, r.cold);
    report.samples(`${label}: restore to answer`, r.restored);
    console.log(`${name}-cold-boot-to-answer-ms: ${median(r.cold).toFixed(0)}`);
    console.log(`${name}-restore-to-answer-ms: ${median(r.restored).toFixed(0)}`);
    for (const [step, ms] of r.steps) {
      console.log(`restore-${name}-step-${step}-ms: ${median(ms).toFixed(0)}`);
    }
    report.table(
      `${label}: restore steps (median ms)`,
      ['step', 'median ms'],
      [...r.steps].map(([step, ms]) => [step, median(ms).toFixed(0)]),
    );
  }
  report.note(
    'Under TCG the first guest command after a restore runs through an empty translation cache (step first-command, or flush-neighbours when restore() flushes the guest neighbours through the harness): most of what is left of a restore.',
  );
  report.ratio(
    'snapshot-restore-ratio-stream',
    median(stream.restored) / median(stream.cold),
    'p50 restore to answer / p50 cold boot to answer, RAM in the state file',
  );
  report.ratio(
    'snapshot-restore-ratio',
    median(image.restored) / median(image.cold),
    'p50 restore to answer / p50 cold boot to answer, RAM image (target <= 0.15)',
  );
  // A VM with shared RAM boots slower under TCG (no huge pages for shared memory where the
  // host's shmem_enabled is never): the image's restore against a default VM's boot as well.
  report.ratio(
    'snapshot-restore-ratio-default-boot',
    median(image.restored) / median(stream.cold),
    'p50 restore to answer, RAM image / p50 cold boot to answer of the default (anonymous) RAM config',
  );
} finally {
  report.write();
  rmSync(dir, { recursive: true, force: true });
  net.remove();
}
