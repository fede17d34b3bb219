// Benchmark `npm run bench:snapshot`: a booted VM back from a snapshot against a cold boot,
// same VM config (q35, the default guest, one tcfilter veth NIC in a netns of its own).
// One VM is booted and saved once (save time, file size); then rounds alternate between a cold
// boot (launch() until the guest's shell answers) and a restore (restore() until it answers).
// Medians; the lines are `name: value` for the bench suite, the ratio last:
// `snapshot-restore-ratio: <restore / cold boot>` (target <= 0.15).
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

const guest = await locateGuestImage();
const net = makeNet();
const dir = mkdtempSync(join(tmpdir(), 'vml-bench-snapshot-'));
const state = join(dir, 'vm.state');
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
  await source.guest.waitReady({ timeout: 60_000 });
  await answer(source);
  const saved = await source.snapshot(state, { then: 'shutdown' });
  // Per-step durations of the restores (launch()'s debug 'step done' records), by step name.
  const stepMs = new Map<string, number[]>();
  const stepLogger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const r = JSON.parse(line) as { step?: string; ms?: number };
        if (r.step !== undefined && r.ms !== undefined) {
          stepMs.set(r.step, [...(stepMs.get(r.step) ?? []), r.ms]);
        }
      },
    },
  );
  const restoreOnce = async (): Promise<number> => {
    const started = performance.now();
    const vm = await restore(state, { logger: stepLogger });
    try {
      const answering = performance.now();
      await answer(vm);
      const answered = performance.now();
      stepMs.set('first-command', [...(stepMs.get('first-command') ?? []), answered - answering]);
      return answered - started;
    } finally {
      await vm.shutdown({ timeout: 0 });
    }
  };
  const cold: number[] = [];
  const restored: number[] = [];
  await restoreOnce(); // warm-up: page cache of the state file, the sandbox probe
  stepMs.clear();
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      cold.push(await coldBoot());
      restored.push(await restoreOnce());
    } else {
      restored.push(await restoreOnce());
      cold.push(await coldBoot());
    }
  }
  const accel = source.accel.accel.toUpperCase();
  console.log(`snapshot-config: q35, ${accel}, ${MEMORY_MIB} MiB, one tcfilter veth NIC`);
  console.log(`snapshot-save-ms: ${saved.saveMs.toFixed(0)}`);
  console.log(`snapshot-file-bytes: ${saved.bytes}`);
  console.log(`snapshot-rounds: ${ROUNDS}`);
  console.log(`cold-boot-to-answer-ms: ${median(cold).toFixed(0)}`);
  console.log(`restore-to-answer-ms: ${median(restored).toFixed(0)}`);
  for (const [step, ms] of stepMs) {
    console.log(`restore-step-${step}-ms: ${median(ms).toFixed(0)}`);
  }
  console.log(`snapshot-restore-ratio: ${(median(restored) / median(cold)).toFixed(3)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  net.remove();
}
