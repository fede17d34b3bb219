// T28, create/destroy part: N cycles of launch (the default guest, q35, 128 MiB, a tcfilter veth
// endpoint in a test netns, rate-limited both ways) -> QMP ready -> shutdown. Every `bootEvery`-th cycle the guest boots
// to its shell, shows the NIC and powers off by the power button; the others go down by the
// ladder's `quit` rung right after QMP is ready (a full TCG boot costs ~3 s). After every cycle:
// QEMU's pid is gone (reaped), nothing is left over, the leak probe (fds, handles, children,
// netns, links, tc) equals its baseline, QEMU and launch wrote no runtime file (a private TMPDIR
// stays empty; nothing under /dev/shm or /run/vmlaunch names the VM), and each QEMU started with
// the same fds as the first (an fd of ours leaking into children would show there).
// Fault ids (T1...T35) are defined in docs/faults.md.
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from '../../launcher/launch.js';
import type { Vm, VmExit } from '../../launcher/vm.js';
import { guestNic, type TestNet } from '../e2e/hotplug/fixture.js';
import { defaultGuest, HARNESS_CMDLINE } from './guest.js';
import { latencySummary, msSince } from './latency.js';
import { diffSnapshots } from './leaks.js';
import { diffProbe, LeakProbe, qemuSide, type ProbeSnapshot } from './leak-probe.js';
import { SoakLeakError } from './soak-hotplug.js';
import { createSoakNet, oracleSnapshot, SOAK_RATE } from './soak-net.js';

/** Guest RAM of churn and parallel VMs: small, so 20 at once stay far from the host's memory. */
export const SOAK_MEMORY_MIB = 128;

/** How many cycles, and how often the guest boots fully. */
export interface ChurnOptions {
  cycles: number;
  /** Every this many cycles (and the first) the guest boots and powers off by ACPI. */
  bootEvery: number;
  /** The ip/tc oracle every this many cycles (and after the last). */
  oracleEvery: number;
  log?: (line: string) => void;
  /** Stops between cycles (the run then cleans up and rethrows the reason). */
  signal?: AbortSignal;
}

/** What a churn run measured. */
export interface ChurnReport {
  cycles: number;
  boots: number;
  /** launch() until QMP is ready. */
  launch: number[];
  /** shutdown() until QEMU is reaped and cleaned up, cycles without a boot (quit rung). */
  quitShutdown: number[];
  /** Boot to the guest's shell, boot cycles. */
  boot: number[];
  /** shutdown() by the power button, boot cycles. */
  powerdown: number[];
  /** The per-cycle checks. */
  check: number[];
  cycle: number[];
  totalMs: number;
}

/** Report lines: latencies and the leak verdict. */
export function churnReportLines(r: ChurnReport): string[] {
  return [
    `create/destroy churn: ${r.cycles} cycles (${r.boots} with a full boot) in ${(r.totalMs / 1000).toFixed(1)} s (${(r.totalMs / r.cycles).toFixed(0)} ms per cycle)`,
    `  launch to QMP ready (veth tcfilter endpoint): ${latencySummary(r.launch)}`,
    `  shutdown right after QMP ready (quit rung): ${latencySummary(r.quitShutdown)}`,
    `  boot to the guest shell: ${latencySummary(r.boot)}; shutdown by powerdown: ${latencySummary(r.powerdown)}`,
    `  per-cycle checks: ${latencySummary(r.check)}`,
    `  leak check after each of ${r.cycles} cycles: clean (no QEMU left, fds, handles, children, netns, links, tc, runtime files)`,
  ];
}

/** The runtime-file check: a private TMPDIR for everything we and QEMU spawn, and where else
 *  a VM could leave a file. */
export interface RuntimeFiles {
  tmp: string;
  /** Entries that name `vm` (its id or pid), in tmp, /dev/shm or /run/vmlaunch. */
  leftBy(vm: Vm): string[];
  remove(): void;
}

// Sets TMPDIR to a fresh private dir (launch and QEMU inherit it) until remove().
export function privateRuntimeFiles(): RuntimeFiles {
  const tmp = mkdtempSync(join(tmpdir(), 'vml-soak-tmp-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  const list = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
  return {
    tmp,
    leftBy(vm) {
      const out = list(tmp).map((f) => `${tmp}/${f}`);
      for (const dir of ['/dev/shm', '/run/vmlaunch', '/run/vmlaunch/.vm']) {
        for (const f of list(dir)) {
          if (namesVm(f, vm)) out.push(describeEntry(`${dir}/${f}`));
        }
      }
      return out;
    },
    remove() {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

// Whether an entry's name carries the VM's id or pid as a whole token. A substring test is not
// enough: pids wrap (pid_max is often 32768), and a 3-digit pid sits inside many other names,
// such as another VM's hex id.
function namesVm(name: string, vm: Vm): boolean {
  return name.split(/[^0-9a-z]+/i).some((t) => t === vm.id || t === String(vm.pid));
}

// A leftover with what it holds (names, owner uid, mode), so a failure says what was left.
function describeEntry(path: string): string {
  const inside: string[] = [];
  const walk = (p: string, depth: number): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (p !== path)
      inside.push(`${p.slice(path.length + 1)} (uid ${st.uid}, ${(st.mode & 0o7777).toString(8)})`);
    if (st.isDirectory() && depth < 3) for (const c of readdirSync(p)) walk(join(p, c), depth + 1);
  };
  walk(path, 0);
  return inside.length > 0 ? `${path} [${inside.join(', ')}]` : `${path} (empty)`;
}

/** Launches the default guest with one tcfilter veth endpoint (eth0 of `net`), rate-limited
 *  both ways (a tbf on the tap and on eth0, which shutdown must remove). */
export async function launchWithVeth(net: TestNet, paused = false): Promise<Vm> {
  const guest = await defaultGuest();
  return launch({
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: HARNESS_CMDLINE,
    memoryMiB: SOAK_MEMORY_MIB,
    endpoints: [
      {
        endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
        netns: net.netns,
        rate: SOAK_RATE,
      },
    ],
    ...(paused ? { paused } : {}),
  });
}

/** What must hold once a VM is down: reaped, nothing left over, the rung we expect. */
export function afterShutdown(vm: Vm, exit: VmExit, rung: VmExit['rung']): string[] {
  const out: string[] = [];
  if (existsSync(`/proc/${vm.pid}`)) out.push(`QEMU pid ${vm.pid} still exists`);
  if (exit.unexpected || exit.rung !== rung)
    out.push(`exit ${JSON.stringify(exit)}, expected rung ${rung}`);
  for (const e of vm.leftovers) out.push(`leftover: ${e.message}`);
  return out;
}

// One cycle; returns its timings. Throws SoakLeakError on anything left behind.
async function churnCycle(
  cycle: number,
  boot: boolean,
  ctx: {
    net: TestNet;
    probe: LeakProbe;
    base: ProbeSnapshot;
    files: RuntimeFiles;
    qemuFds: { first?: string[] };
  },
  r: ChurnReport,
): Promise<void> {
  const t0 = performance.now();
  const vm = await launchWithVeth(ctx.net);
  let exit: VmExit;
  const differences: string[] = [];
  try {
    r.launch.push(msSince(t0));
    const status = await vm.qmp.queryStatus();
    if (!status.running) differences.push(`QMP status ${status.status}, expected running`);
    const fds = (await qemuSide(vm)).fds;
    ctx.qemuFds.first ??= fds;
    if (fds.join() !== ctx.qemuFds.first.join()) {
      differences.push(
        `QEMU started with fds ${fds.join(', ')}; the first had ${ctx.qemuFds.first.join(', ')}`,
      );
    }
    if (boot) {
      const t1 = performance.now();
      await vm.guest.waitReady({ timeout: 90_000 });
      r.boot.push(msSince(t1));
      const nic = vm.endpoints[0]!.hostNic;
      const mac = nic.kind === 'vfio' ? '' : nic.mac.toLowerCase();
      if ((await guestNic(vm, mac)) === '')
        differences.push(`the guest does not show its NIC ${mac}`);
    }
  } finally {
    const t2 = performance.now();
    exit = await (boot ? vm.shutdown() : vm.shutdown({ timeout: 0 }));
    (boot ? r.powerdown : r.quitShutdown).push(msSince(t2));
  }
  const t3 = performance.now();
  differences.push(...afterShutdown(vm, exit, boot ? 'powerdown' : 'quit'));
  differences.push(...diffProbe(ctx.base, await ctx.probe.snapshot()));
  differences.push(...ctx.files.leftBy(vm).map((f) => `runtime file left: ${f}`));
  if (differences.length > 0) throw new SoakLeakError(cycle, differences);
  r.check.push(msSince(t3));
  r.cycle.push(msSince(t0));
}

/**
 * Runs the churn in one test netns pair, removed whatever happens.
 * @throws SoakLeakError at the first cycle that left something behind; any launch error.
 */
export async function runChurn(options: ChurnOptions): Promise<ChurnReport> {
  const log = options.log ?? (() => undefined);
  await defaultGuest();
  const net = createSoakNet();
  const files = privateRuntimeFiles();
  let probe: LeakProbe | undefined;
  try {
    probe = LeakProbe.open({
      netns: [net.netns, net.peer],
      netnsFilter: (n) => n.startsWith(net.netns),
    });
    const oracle = () => oracleSnapshot([net]);
    const oracleBase = oracle();
    const ctx = { net, probe, base: await probe.snapshot(), files, qemuFds: {} };
    const r: ChurnReport = {
      cycles: options.cycles,
      boots: 0,
      launch: [],
      quitShutdown: [],
      boot: [],
      powerdown: [],
      check: [],
      cycle: [],
      totalMs: 0,
    };
    const started = performance.now();
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      options.signal?.throwIfAborted();
      const boot = cycle === 1 || cycle % options.bootEvery === 0;
      if (boot) r.boots++;
      await churnCycle(cycle, boot, ctx, r);
      if (cycle % options.oracleEvery === 0 || cycle === options.cycles) {
        const differences = diffSnapshots(oracleBase, oracle());
        if (differences.length > 0)
          throw new SoakLeakError(
            cycle,
            differences.map((d) => `ip/tc: ${d}`),
          );
        log(
          `  cycle ${cycle}: clean (probe every cycle, ip/tc now); cycles so far ${latencySummary(r.cycle)}`,
        );
      }
    }
    r.totalMs = msSince(started);
    return r;
  } finally {
    await probe?.close();
    files.remove();
    net.remove();
  }
}
