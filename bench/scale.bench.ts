// Benchmark `npm run bench:scale` (node --expose-gc): vmlaunch with many VMs in one process.
//  1. Rounds of N VMs (default 1, 5, 20) launched at once, each with a tcfilter veth endpoint
//     in a vml- netns of its own whose peer sits in a second netns; each until its guest is
//     ready and has pinged the peer through the NIC. Per-VM p50/p95 (launch returned, guest
//     ready, peer pinged; all from the common start), the largest event-loop delay meanwhile
//     (perf_hooks.monitorEventLoopDelay), our RSS growth per VM against each QEMU's RSS.
//  2. 16 NICs hot-plugged into one VM one after another: ms per NIC until the guest shows it,
//     as the count grows.
//  3. 1,000 attach/detach cycles against a scripted QMP server (bench/scale-qmp.ts): the heap
//     after a full GC along the way, and our fd count, which must end where it began.
// Checks that nothing is left: no vml-bench-sc netns, no child process. The baseline of part 1
// is the single VM (N=1): the ratio is the p50 time to ping at the largest N over that at 1.
// Env: BENCH_SCALE_COUNTS=1,5,20 BENCH_SCALE_NICS=16 BENCH_SCALE_CYCLES=1000
// BENCH_SCALE_MEMORY=128 (MiB per guest). TCG guests on few cores are slow: the largest round
// may take minutes.
import { existsSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { waitForGuestMac } from '../launcher/cli/guest-nic.js';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch } from '../launcher/launch.js';
import type { Vm } from '../launcher/vm.js';
import { createTestNet, guestPing, type TestNet } from '../test/e2e/hotplug/fixture.js';
import { childProcesses, netnsList } from '../test/helpers/leaks.js';
import { ip } from '../test/helpers/netns.js';
import { BenchReport, percentile } from './report.js';
import { qmpCycles } from './scale-qmp.js';

const COUNTS = (process.env.BENCH_SCALE_COUNTS ?? '1,5,20').split(',').map(Number);
const NICS = Number(process.env.BENCH_SCALE_NICS ?? 16);
const CYCLES = Number(process.env.BENCH_SCALE_CYCLES ?? 1000);
// Untimed cycles first: the heap grows for a few hundred cycles (compiled code, caches) and then stays.
const WARMUP_CYCLES = 500;
const MEMORY_MIB = Number(process.env.BENCH_SCALE_MEMORY ?? 128);
const PREFIX = 'vml-bench-sc';
// A guest not ready by then counts as hung (TCG boots occasionally hang; docs/benchmarks.md),
// is killed, and is left out of the times; the round goes on.
const READY_TIMEOUT = Number(process.env.BENCH_SCALE_READY_TIMEOUT ?? 300_000);

const report = new BenchReport('scale', {
  what: `1, 5, 20 VMs launched at once from one process, each with a tcfilter veth in its own netns, to the guest pinging its peer (${MEMORY_MIB} MiB guests); ${NICS} NICs hot-plugged into one VM; ${CYCLES} attach/detach cycles against a scripted QMP server`,
  baseline: 'one VM alone (N=1) for the per-VM times; the heap and fd count before the cycles',
});
const guestImage = await locateGuestImage();
const cmdline = GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console='));
const since = (t: number): number => performance.now() - t;
const MiB = 1024 * 1024;
const ms = (v: number): string => v.toFixed(0);

// Resident set of a process in bytes (VmRSS).
function rss(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? NaN) * 1024;
}

/** One VM's times from the common start. */
interface VmTimes {
  launched: number;
  ready: number;
  pinged: number;
}

// One VM: launch with its endpoint, guest ready, ping the peer through the boot NIC.
async function oneVm(net: TestNet, t0: number, vms: Vm[]): Promise<VmTimes | undefined> {
  const vm = await launch({
    kernel: guestImage.kernel,
    initrd: guestImage.initrd,
    template: 'q35',
    cmdline,
    memoryMiB: MEMORY_MIB,
    endpoints: [
      { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns: net.netns },
    ],
  });
  vms.push(vm);
  const launched = since(t0);
  report.accel(vm.accel.accel);
  try {
    await vm.guest.waitReady({ timeout: Math.max(1000, READY_TIMEOUT - since(t0)) });
  } catch {
    console.log(`guest of QEMU ${vm.pid} not ready after ${ms(since(t0))} ms: counted as hung`);
    await vm.kill();
    return undefined;
  }
  const ready = since(t0);
  const host = vm.endpoints[0]!.hostNic;
  if (!('mac' in host)) throw new Error(`the boot NIC of ${vm.pid} has no MAC (${host.kind})`);
  const ifname = await waitForGuestMac(vm.guest, host.mac, true, 60_000);
  const ping = await guestPing(vm, ifname, net.guestCidr, net.peerAddress);
  if (ping.status !== 0) throw new Error(`guest ${vm.pid} could not ping ${net.peerAddress}`);
  return { launched, ready, pinged: since(t0) };
}

const rows: string[][] = [];
const pingP50 = new Map<number, number>();

// Part 1, one round of n VMs.
async function round(n: number): Promise<void> {
  const nets: TestNet[] = [];
  const vms: Vm[] = [];
  try {
    for (let i = 0; i < n; i++) nets.push(createTestNet(PREFIX));
    (globalThis as { gc?: () => void }).gc?.();
    const rssBefore = process.memoryUsage.rss();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const t0 = performance.now();
    const all = await Promise.all(nets.map((net) => oneVm(net, t0, vms)));
    delay.disable();
    const times = all.filter((t): t is VmTimes => t !== undefined);
    const hung = n - times.length;
    const rssAll = process.memoryUsage.rss();
    const ourRss = (rssAll - rssBefore) / n;
    const live = vms.filter((vm) => existsSync(`/proc/${vm.pid}/status`));
    const qemuRss = live.reduce((s, vm) => s + rss(vm.pid), 0) / live.length;
    const col = (k: keyof VmTimes): number[] => times.map((t) => t[k]);
    for (const k of ['launched', 'ready', 'pinged'] as const)
      report.samples(
        `N=${n}: per VM, ${k === 'launched' ? 'launch() returned' : k === 'ready' ? 'guest ready' : 'guest pinged its peer'}`,
        col(k),
      );
    pingP50.set(n, percentile(col('pinged'), 50));
    const maxDelay = delay.max / 1e6;
    rows.push([
      hung > 0 ? `${n} (${hung} hung)` : String(n),
      `${ms(percentile(col('launched'), 50))} / ${ms(percentile(col('launched'), 95))}`,
      `${ms(percentile(col('ready'), 50))} / ${ms(percentile(col('ready'), 95))}`,
      `${ms(percentile(col('pinged'), 50))} / ${ms(percentile(col('pinged'), 95))}`,
      maxDelay.toFixed(1),
      (rssAll / MiB).toFixed(0),
      (ourRss / MiB).toFixed(1),
      (qemuRss / MiB).toFixed(1),
    ]);
    console.log(
      `N=${n}: launch() returned p50/p95 ${rows.at(-1)![1]} ms, guest ready ${rows.at(-1)![2]} ms, pinged ${rows.at(-1)![3]} ms; ` +
        `max event-loop delay ${maxDelay.toFixed(1)} ms; our RSS +${(ourRss / MiB).toFixed(1)} MiB per VM, QEMU ${(qemuRss / MiB).toFixed(1)} MiB per VM`,
    );
  } finally {
    await Promise.all(vms.map((vm) => vm.shutdown({ timeout: 5000 }).catch(() => vm.kill())));
    for (const net of nets) net.remove();
  }
}

// Part 2: NICS veths in one netns, hot-plugged one after another into one VM.
async function manyNics(): Promise<void> {
  const net = createTestNet(PREFIX);
  let vm: Vm | undefined;
  try {
    for (let i = 1; i <= NICS; i++) {
      ip('-n', net.netns, 'link', 'add', `eth${i}`, 'type', 'veth', 'peer', 'name', `p${i}`);
      ip('-n', net.netns, 'link', 'set', `eth${i}`, 'up');
      ip('-n', net.netns, 'link', 'set', `p${i}`, 'up');
    }
    vm = await launch({
      kernel: guestImage.kernel,
      initrd: guestImage.initrd,
      template: 'q35',
      templateOverrides: { hotplugRootPorts: NICS },
      cmdline,
      memoryMiB: MEMORY_MIB,
    });
    report.accel(vm.accel.accel);
    await vm.guest.waitReady({ timeout: READY_TIMEOUT });
    const attach: number[] = [];
    const seen: number[] = [];
    for (let i = 1; i <= NICS; i++) {
      const t0 = performance.now();
      const nic = await vm.attach(
        { endpoint: { kind: 'veth', name: `eth${i}`, interworking: 'tcfilter' }, netns: net.netns },
        { id: `n${i}`, waitForGuest: false },
      );
      attach.push(since(t0));
      await waitForGuestMac(vm.guest, nic.mac, true, 60_000);
      seen.push(since(t0));
    }
    const detach: number[] = [];
    for (const nic of [...vm.hotplugged].reverse()) {
      const t0 = performance.now();
      const r = await vm.detach(nic.id, { timeout: 30_000 });
      if (r.status !== 'removed') throw new Error(`detach ${nic.id}: ${r.explanation}`);
      detach.push(since(t0));
    }
    const quarters = [1, Math.ceil(NICS / 4), Math.ceil(NICS / 2), Math.ceil((3 * NICS) / 4), NICS];
    report.table(
      `${NICS} NICs hot-plugged into one VM, one after another (ms)`,
      ['NIC #', 'vm.attach', 'until the guest shows it', 'vm.detach (in reverse order)'],
      [...new Set(quarters)].map((k) => [
        String(k),
        ms(attach[k - 1]!),
        ms(seen[k - 1]!),
        ms(detach[NICS - k]!),
      ]),
    );
    report.samples(`${NICS} NICs: vm.attach until the guest shows it`, seen);
    console.log(`${NICS} NICs, ms until the guest shows each: ${seen.map(ms).join(' ')}`);
    console.log(`detach, ms each (last attached first): ${detach.map(ms).join(' ')}`);
  } finally {
    await vm?.shutdown({ timeout: 5000 });
    net.remove();
  }
}

// Part 3: the heap over attach/detach cycles against the scripted QMP server.
async function heap(): Promise<void> {
  const points = await qmpCycles(CYCLES, WARMUP_CYCLES, Math.max(1, Math.floor(CYCLES / 4)));
  const first = points[0]!;
  const last = points.at(-1)!;
  report.table(
    `${CYCLES} attach/detach cycles against a scripted QMP server: heap after a full GC`,
    ['after cycle', 'heap used (KiB)', 'our fds'],
    points.map((p) => [String(p.cycle), (p.heapUsed / 1024).toFixed(0), String(p.fds)]),
  );
  const growth = (last.heapUsed - first.heapUsed) / CYCLES;
  console.log(
    `heap over ${CYCLES} cycles: ${points.map((p) => `${p.cycle}: ${(p.heapUsed / 1024).toFixed(0)} KiB`).join(', ')}; ` +
      `${growth.toFixed(1)} bytes per cycle; fds ${first.fds} -> ${last.fds}`,
  );
  report.value('heap growth per attach/detach cycle (after GC)', growth, 'bytes');
  if (last.fds !== first.fds) throw new Error(`fds ${first.fds} -> ${last.fds} over the cycles`);
}

const netnsBefore = netnsList().filter((n) => n.startsWith(PREFIX));
for (const n of COUNTS) await round(n);
await manyNics();
await heap();
const leftNetns = netnsList().filter((n) => n.startsWith(PREFIX) && !netnsBefore.includes(n));
// tsx's esbuild service is a child of ours for the whole run; it is not the launcher's.
const leftChildren = childProcesses().filter((c) => !/\besbuild\b/.test(c));
report.table(
  'VMs launched at once (p50 / p95 ms per VM from the common start)',
  [
    'VMs',
    'launch() returned',
    'guest ready',
    'guest pinged its peer',
    'max event-loop delay (ms)',
    'our RSS, whole process (MiB)',
    'our RSS growth per VM (MiB)',
    'QEMU RSS per VM (MiB)',
  ],
  rows,
);
report.note(
  `QEMU's RSS under TCG includes its translation-block cache, beyond the ${MEMORY_MIB} MiB guest; our RSS growth per VM is the whole process's growth over the round divided by N (GC'd before, not after).`,
);
report.note(
  `Left after the run: ${leftNetns.length} ${PREFIX} netns, ${leftChildren.length} child processes${leftChildren.length > 0 ? ` (${leftChildren.join(', ')})` : ''}.`,
);
const maxN = Math.max(...COUNTS);
const minN = Math.min(...COUNTS);
report.ratio(
  'scale-ping-ratio',
  pingP50.get(maxN)! / pingP50.get(minN)!,
  `p50 per-VM time to ping with ${maxN} VMs at once / with ${minN} (TCG guests share the cores: this grows with N)`,
);
report.write();
if (leftNetns.length > 0 || leftChildren.length > 0)
  throw new Error(`left behind: ${[...leftNetns, ...leftChildren].join(', ')}`);
