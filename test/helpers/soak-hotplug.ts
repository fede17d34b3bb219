// T28, hot-plug part: N attach/detach cycles of a tcfilter veth on one q35 VM (the default
// guest), attached with rate limits both ways (changed live every other cycle). After every cycle: the guest no longer shows the NIC, and the leak probe (our fds and
// handles, children, netns, links and tc of both test netns; QEMU's fds, peripherals and fd
// sets) equals the baseline taken before cycle 1. Every `oracleEvery` cycles the `ip`/`tc`
// snapshot (an oracle independent of our netlink client) must equal its baseline too, and the
// guest pings the peer through the NIC on the first and the last cycle. Stops at the first leak.
// Fault ids (T1...T35) are defined in docs/faults.md.
import type { Vm } from '../../launcher/vm.js';
import { bootGuest, guestNic, guestPing } from '../e2e/hotplug/fixture.js';
import { latencySummary, msSince } from './latency.js';
import { diffSnapshots } from './leaks.js';
import { tcJson } from './netns.js';
import { createSoakNet, oracleSnapshot, SOAK_RATE } from './soak-net.js';
import { diffProbe, diffQemuSide, LeakProbe, qemuSide } from './leak-probe.js';

/** How long and how often to look with the `ip`/`tc` oracle. */
export interface HotplugSoakOptions {
  cycles: number;
  /** The ip/tc snapshot every this many cycles (and after the last). */
  oracleEvery: number;
  /** Progress lines (every `oracleEvery` cycles) and the report. */
  log?: (line: string) => void;
  /** Stops between cycles (the run then cleans up and rethrows the reason). */
  signal?: AbortSignal;
}

/** What a soak measured (ms per cycle) and how the sets ended. */
export interface HotplugSoakReport {
  cycles: number;
  /** vm.attach until the guest shows the NIC. */
  attach: number[];
  /** vm.detach until DEVICE_DELETED and the host side is gone. */
  detach: number[];
  /** The per-cycle checks: the guest's view, the probe, QEMU's side. */
  check: number[];
  /** Whole cycles, checks included. */
  cycle: number[];
  totalMs: number;
  qemuFds: [number, number];
  ourFds: [number, number];
}

/** A leak (or loss) found after a cycle: which cycle, and the differences. */
export class SoakLeakError extends Error {
  constructor(
    readonly cycle: number,
    readonly differences: string[],
  ) {
    super(`after cycle ${cycle}:\n  ${differences.join('\n  ')}`);
    this.name = 'SoakLeakError';
  }
}

/** Report lines: latencies and the leak verdict. */
export function hotplugReportLines(r: HotplugSoakReport): string[] {
  const perCycle = r.totalMs / r.cycles;
  return [
    `hot-plug soak: ${r.cycles} cycles in ${(r.totalMs / 1000).toFixed(1)} s (${perCycle.toFixed(0)} ms per cycle)`,
    `  attach (host + QMP + guest sees it): ${latencySummary(r.attach)}`,
    `  detach (device_del -> DEVICE_DELETED -> host side gone): ${latencySummary(r.detach)}`,
    `  per-cycle checks (guest view, probe, QEMU side): ${latencySummary(r.check)}`,
    `  leak check after each of ${r.cycles} cycles: clean; QEMU fds ${r.qemuFds[0]} -> ${r.qemuFds[1]}, our fds ${r.ourFds[0]} -> ${r.ourFds[1]}`,
  ];
}

// One cycle's checks: the guest dropped the NIC, nothing grew on the host or in QEMU.
async function checkCycle(
  vm: Vm,
  mac: string,
  cycle: number,
  probe: LeakProbe,
  base: {
    host: Awaited<ReturnType<LeakProbe['snapshot']>>;
    qemu: Awaited<ReturnType<typeof qemuSide>>;
  },
): Promise<void> {
  const differences: string[] = [];
  const view = await guestNic(vm, mac);
  if (view !== '') differences.push(`guest still shows ${mac}: ${view}`);
  differences.push(...diffProbe(base.host, await probe.snapshot()));
  differences.push(...diffQemuSide(base.qemu, await qemuSide(vm)));
  if (vm.hotplugged.length > 0)
    differences.push(`hotplugged: ${vm.hotplugged.map((n) => n.id).join(', ')}`);
  if (differences.length > 0) throw new SoakLeakError(cycle, differences);
}

/**
 * Boots a VM, runs the cycles, shuts down and removes the netns whatever happens.
 * @throws SoakLeakError at the first cycle that left something behind; any attach/detach error.
 */
export async function runHotplugSoak(options: HotplugSoakOptions): Promise<HotplugSoakReport> {
  const log = options.log ?? (() => undefined);
  const net = createSoakNet();
  let vm: Vm | undefined;
  let probe: LeakProbe | undefined;
  try {
    vm = await bootGuest();
    probe = LeakProbe.open({
      netns: [net.netns, net.peer],
      netnsFilter: (n) => n.startsWith(net.netns),
    });
    const oracle = oracleSnapshot([net]);
    const base = { host: await probe.snapshot(), qemu: await qemuSide(vm) };
    const report: HotplugSoakReport = {
      cycles: options.cycles,
      attach: [],
      detach: [],
      check: [],
      cycle: [],
      totalMs: 0,
      qemuFds: [base.qemu.fds.length, 0],
      ourFds: [base.host.fds.size, 0],
    };
    const started = performance.now();
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      options.signal?.throwIfAborted();
      const t0 = performance.now();
      const nic = await vm.attach(
        { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns: net.netns },
        { id: 'soak', rate: SOAK_RATE },
      );
      report.attach.push(msSince(t0));
      // Every other cycle the limits also change live before the detach that must remove them.
      if (cycle % 2 === 0) await vm.setRate('soak', { rx: null, tx: { rate: 6_250_000 } });
      if (cycle === 1 && !hasTbf(net.netns, 'eth0'))
        throw new Error('cycle 1: the NIC was attached with a rate limit but eth0 has no tbf');
      if (cycle === 1 || cycle === options.cycles) {
        const ping = await guestPing(vm, nic.guestIfname!, net.guestCidr, net.peerAddress);
        if (ping.status !== 0)
          throw new Error(`cycle ${cycle}: the guest cannot ping the peer:\n${ping.output}`);
      }
      const t1 = performance.now();
      const result = await vm.detach(nic.id);
      if (result.status !== 'removed')
        throw new Error(`cycle ${cycle}: detach ${result.status}: ${result.explanation}`);
      report.detach.push(msSince(t1));
      const t2 = performance.now();
      await checkCycle(vm, nic.mac, cycle, probe, base);
      report.check.push(msSince(t2));
      report.cycle.push(msSince(t0));
      if (cycle % options.oracleEvery === 0 || cycle === options.cycles) {
        const differences = diffSnapshots(oracle, oracleSnapshot([net]));
        if (differences.length > 0)
          throw new SoakLeakError(
            cycle,
            differences.map((d) => `ip/tc: ${d}`),
          );
        log(
          `  cycle ${cycle}: clean (probe every cycle, ip/tc now); cycles so far ${latencySummary(report.cycle)}`,
        );
      }
    }
    report.totalMs = msSince(started);
    report.qemuFds[1] = (await qemuSide(vm)).fds.length;
    report.ourFds[1] = (await probe.snapshot()).fds.size;
    return report;
  } finally {
    await probe?.close();
    await vm?.shutdown({ timeout: 3000 });
    net.remove();
  }
}

// True when `dev` in `netns` has a root tbf (as tc shows it).
function hasTbf(netns: string, dev: string): boolean {
  return tcJson<{ kind: string; root?: boolean }[]>('-n', netns, 'qdisc', 'show', 'dev', dev).some(
    (q) => q.root === true && q.kind === 'tbf',
  );
}
