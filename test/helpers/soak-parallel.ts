// T28, parallel part: R rounds of N VMs launched at once (the default guest, q35, 128 MiB, each
// with a tcfilter veth endpoint in its own test netns), all reaching QMP ready (status running),
// then all shut down at once by the ladder's `quit` rung (the guests are still booting: the power
// button would only cost its deadline). After every round: every QEMU is reaped, nothing is left
// over, and the leak probe over all 2N netns (fds, handles, children, netns, links, tc), the
// runtime files and the ip/tc oracle equal their baselines. Memory is watched: the QEMUs' summed
// RSS and the host's MemAvailable while all N run.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { readFileSync } from 'node:fs';
import type { Vm, VmExit } from '../../launcher/vm.js';
import type { TestNet } from '../e2e/hotplug/fixture.js';
import { defaultGuest } from './guest.js';
import { latencySummary, msSince } from './latency.js';
import { diffSnapshots } from './leaks.js';
import { diffProbe, LeakProbe, qemuSide } from './leak-probe.js';
import {
  afterShutdown,
  launchWithVeth,
  privateRuntimeFiles,
  SOAK_MEMORY_MIB,
} from './soak-churn.js';
import { SoakLeakError } from './soak-hotplug.js';
import { createSoakNet, oracleSnapshot } from './soak-net.js';

/** How many VMs at once, how many rounds. */
export interface ParallelOptions {
  vms: number;
  rounds: number;
  log?: (line: string) => void;
  /** Stops between cycles (the run then cleans up and rethrows the reason). */
  signal?: AbortSignal;
}

/** What the rounds measured. */
export interface ParallelReport {
  vms: number;
  rounds: number;
  /** Each VM's launch() until QMP ready, all rounds. */
  launch: number[];
  /** Per round: the first launch call until the last VM is QMP ready. */
  allReady: number[];
  /** Per round: all shutdowns until the last QEMU is reaped and cleaned up. */
  allDown: number[];
  /** Per round: the per-round checks. */
  check: number[];
  /** Largest sum of the QEMUs' VmRSS seen, MiB. */
  peakRssMiB: number;
  /** Lowest host MemAvailable seen while the VMs ran, MiB. */
  minAvailableMiB: number;
  totalMs: number;
}

/** Report lines: latencies, memory and the leak verdict. */
export function parallelReportLines(r: ParallelReport): string[] {
  return [
    `parallel VMs: ${r.rounds} rounds of ${r.vms} VMs in ${(r.totalMs / 1000).toFixed(1)} s`,
    `  each VM's launch to QMP ready (${r.vms} at once): ${latencySummary(r.launch)}`,
    `  per round, all ${r.vms} QMP ready: ${latencySummary(r.allReady)}; all shut down and cleaned up: ${latencySummary(r.allDown)}`,
    `  memory: QEMU RSS summed up to ${r.peakRssMiB.toFixed(0)} MiB (${SOAK_MEMORY_MIB} MiB guests); host MemAvailable at least ${r.minAvailableMiB.toFixed(0)} MiB`,
    `  leak check after each of ${r.rounds} rounds: clean (no QEMU left, fds, handles, children, netns, links, tc, runtime files)`,
  ];
}

// kB field of a /proc status/meminfo file, in MiB.
function kbField(file: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

// Launches one VM per net at once; on any failure the others are shut down and it throws.
async function launchAll(nets: TestNet[], r: ParallelReport): Promise<Vm[]> {
  const settled = await Promise.allSettled(
    nets.map(async (net) => {
      const t = performance.now();
      const vm = await launchWithVeth(net);
      r.launch.push(msSince(t));
      return vm;
    }),
  );
  const vms = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
  if (failed.length > 0) {
    await Promise.all(vms.map((vm) => vm.shutdown({ timeout: 0 })));
    throw new AggregateError(
      failed,
      `${failed.length} of ${nets.length} parallel launches failed: ${failed[0]!.message}`,
    );
  }
  return vms;
}

/**
 * Runs the rounds in N test netns pairs, removed whatever happens.
 * @throws SoakLeakError at the first round that left something behind; launch errors.
 */
export async function runParallel(options: ParallelOptions): Promise<ParallelReport> {
  const log = options.log ?? (() => undefined);
  await defaultGuest();
  const nets: TestNet[] = [];
  const files = privateRuntimeFiles();
  let probe: LeakProbe | undefined;
  try {
    for (let i = 0; i < options.vms; i++) nets.push(createSoakNet());
    const names = nets.flatMap((n) => [n.netns, n.peer]);
    const mine = (n: string): boolean => names.includes(n);
    probe = LeakProbe.open({ netns: names, netnsFilter: mine });
    const oracle = () => oracleSnapshot(nets);
    const oracleBase = oracle();
    const base = await probe.snapshot();
    const r: ParallelReport = {
      vms: options.vms,
      rounds: options.rounds,
      launch: [],
      allReady: [],
      allDown: [],
      check: [],
      peakRssMiB: 0,
      minAvailableMiB: Number.POSITIVE_INFINITY,
      totalMs: 0,
    };
    const started = performance.now();
    for (let round = 1; round <= options.rounds; round++) {
      options.signal?.throwIfAborted();
      const t0 = performance.now();
      const vms = await launchAll(nets, r);
      r.allReady.push(msSince(t0));
      const differences: string[] = [];
      let exits: VmExit[];
      try {
        const firstFds = (await qemuSide(vms[0]!)).fds.join(', ');
        for (const vm of vms) {
          const status = await vm.qmp.queryStatus();
          if (!status.running) differences.push(`VM ${vm.id}: QMP status ${status.status}`);
          const fds = (await qemuSide(vm)).fds.join(', ');
          if (fds !== firstFds)
            differences.push(`VM ${vm.id} QEMU fds ${fds}; the first VM's: ${firstFds}`);
        }
        const rss = vms.reduce((sum, vm) => sum + kbField(`/proc/${vm.pid}/status`, 'VmRSS'), 0);
        r.peakRssMiB = Math.max(r.peakRssMiB, rss);
        r.minAvailableMiB = Math.min(r.minAvailableMiB, kbField('/proc/meminfo', 'MemAvailable'));
      } finally {
        const t1 = performance.now();
        exits = await Promise.all(vms.map((vm) => vm.shutdown({ timeout: 0 })));
        r.allDown.push(msSince(t1));
      }
      const t2 = performance.now();
      vms.forEach((vm, i) =>
        differences.push(...afterShutdown(vm, exits[i]!, 'quit').map((d) => `VM ${vm.id}: ${d}`)),
      );
      for (const vm of vms)
        differences.push(...files.leftBy(vm).map((f) => `runtime file left: ${f}`));
      differences.push(...diffProbe(base, await probe.snapshot()));
      differences.push(...diffSnapshots(oracleBase, oracle()).map((d) => `ip/tc: ${d}`));
      if (differences.length > 0) throw new SoakLeakError(round, differences);
      r.check.push(msSince(t2));
      log(
        `  round ${round}: ${options.vms} VMs ready in ${r.allReady.at(-1)!.toFixed(0)} ms, down in ${r.allDown.at(-1)!.toFixed(0)} ms; clean`,
      );
    }
    r.totalMs = msSince(started);
    return r;
  } finally {
    await probe?.close();
    files.remove();
    for (const net of nets) net.remove();
  }
}
