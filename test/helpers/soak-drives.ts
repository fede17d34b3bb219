// Drive hot-plug soak: N attach/detach cycles of one image on a running q35 VM (the default
// guest). Every cycle the guest must show the disk as /dev/vdX and detach must end 'removed';
// every `checkEvery` cycles (and after the last) QEMU's fd count, its fdsets and its named
// block nodes must equal what they were before cycle 1. Used by the e2e test (100 cycles) and
// by `npm run soak` (more).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../../launcher/launch.js';
import type { Vm } from '../../launcher/vm.js';
import { defaultGuest, HARNESS_CMDLINE } from './guest.js';
import { latencySummary } from './latency.js';

/** What QEMU holds: its fd count, its fdsets and its named block nodes. */
export async function qemuDriveSide(vm: Vm) {
  const fds = readdirSync(`/proc/${vm.pid}/fd`).length;
  const fdsets = await vm.qmp.queryFdsets();
  const nodes = await vm.qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes');
  return { fds, fdsets, nodes: nodes.map((n) => n['node-name']).sort() };
}

/** How many cycles, how often to compare QEMU's side, where progress goes. */
export interface DriveSoakOptions {
  vm: Vm;
  image: string;
  cycles: number;
  checkEvery: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Per-cycle times (attach + detach, ms) and QEMU's fd count before and after. */
export interface DriveSoakReport {
  cycles: number;
  cycle: number[];
  qemuFds: [number, number];
}

/** A difference in QEMU's side after a cycle. */
export class DriveSoakLeakError extends Error {
  constructor(cycle: number, before: unknown, after: unknown) {
    super(
      `after drive cycle ${cycle}: QEMU's side changed\n  before ${JSON.stringify(before)}\n  after  ${JSON.stringify(after)}`,
    );
    this.name = 'DriveSoakLeakError';
  }
}

// Runs the cycles; throws at the first cycle that fails or leaves QEMU holding more.
export async function runDriveSoak(o: DriveSoakOptions): Promise<DriveSoakReport> {
  const before = await qemuDriveSide(o.vm);
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const cycle: number[] = [];
  let after = before;
  for (let i = 1; i <= o.cycles; i++) {
    o.signal?.throwIfAborted();
    const t = performance.now();
    const drive = await o.vm.attach({ drive: { path: o.image, readOnly: true, serial: 'soak' } });
    if (!/^vd[a-z]+$/.test(drive.guestDevice ?? ''))
      throw new Error(`cycle ${i}: the guest shows no disk (${String(drive.guestDevice)})`);
    const result = await o.vm.detach(drive.id, { timeout: 15_000 });
    if (result.status !== 'removed') throw new Error(`cycle ${i}: detach ended ${result.status}`);
    cycle.push(performance.now() - t);
    if (i % o.checkEvery === 0 || i === o.cycles) {
      after = await qemuDriveSide(o.vm);
      if (!same(before, after)) throw new DriveSoakLeakError(i, before, after);
      o.log?.(`drive soak: ${i}/${o.cycles} cycles, QEMU's side unchanged`);
    }
  }
  return { cycles: o.cycles, cycle, qemuFds: [before.fds, after.fds] };
}

/** Report lines: latency and the leak verdict. */
export function driveSoakReportLines(r: DriveSoakReport): string[] {
  return [
    `drive hot-plug soak: ${r.cycles} cycles; attach+detach ${latencySummary(r.cycle)}`,
    `  QEMU's fds, fdsets and block nodes unchanged; fds ${r.qemuFds[0]} -> ${r.qemuFds[1]}`,
  ];
}

// For `npm run soak`: a q35 VM of the default guest with a 4 MiB image in a temporary
// directory, the cycles, then the VM shut down and the directory removed.
export async function runDriveSoakOnNewVm(
  o: Omit<DriveSoakOptions, 'vm' | 'image'>,
): Promise<DriveSoakReport> {
  const dir = mkdtempSync(join(tmpdir(), 'vml-soak-drive-'));
  let vm: Vm | undefined;
  try {
    const image = join(dir, 'soak.raw');
    writeFileSync(image, Buffer.alloc(4 * 1024 * 1024));
    const guest = await defaultGuest();
    vm = await launch({ kernel: guest.kernel, initrd: guest.initrd, cmdline: HARNESS_CMDLINE });
    await vm.guest.waitReady({ timeout: 120_000 });
    return await runDriveSoak({ ...o, vm, image });
  } finally {
    await vm?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
