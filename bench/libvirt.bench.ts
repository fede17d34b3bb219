// Benchmark `npm run bench:libvirt`: vmlaunch against libvirt, the launcher users would pick
// instead, on the same guest (the default one: kernel, initrd, harness console), q35, TCG, the
// same memory and CPU count, each VM with one virtio NIC on a tap in a vml- netns joined to a
// veth by tc mirred redirects (vmlaunch's tcfilter model).
//  - launch: launch() (host plumbing + QEMU + QMP) to the guest's ready marker, against
//    `virsh create` to the same marker read from the serial console (a unix socket chardev);
//  - hot-plug: vm.attach -> the guest shows the NIC -> vm.detach -> it is gone, against
//    `virsh attach-device --live` / `detach-device --live` of an <interface type='ethernet'>
//    with the same detection in the guest (launcher/cli/guest-nic.ts);
//  - restore: vm.snapshot() once, then restore() until the guest's harness answers, against
//    `virsh save` once, then `virsh restore` until the same answer (bench/libvirt-restore.ts).
// libvirt cannot take a tap fd from another netns, so its libvirtd runs inside a vml- netns of
// its own (bench/libvirt-daemon.ts) and opens pre-made taps there by name (<target
// managed='no'>); making them and their tc filters is done before each libvirt round and not
// timed, while vmlaunch's times include its own tap and tc work. virsh is one long-lived
// process (bench/virsh-shell.ts): its connection is open, as in a program using libvirt.
// Rounds alternate. One extra libvirt round of each kind runs with libvirtd's debug log on,
// and bench/libvirt-trace.ts says where libvirt's time went. Prints `vs-libvirt-launch-ratio:`,
// `vs-libvirt-hotplug-ratio:` and `vs-libvirt-restore-ratio:` (ours / libvirt; below 1: faster).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForGuestMac } from '../launcher/cli/guest-nic.js';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch } from '../launcher/launch.js';
import type { Vm } from '../launcher/vm.js';
import { startLibvirtd, type Libvirtd } from './libvirt-daemon.js';
import { consoleSocketPath, destroyDomain, reachDomain, type Domain } from './libvirt-domain.js';
import { domainXml, makeNetns, plumbTap, run, unplumbTap } from './libvirt-host.js';
import { compareRestore } from './libvirt-restore.js';
import { explainTrace, keepTrace } from './libvirt-trace.js';
import { BenchReport, percentile } from './report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const HOTPLUG_ROUNDS = Number(process.env.BENCH_HOTPLUG_ROUNDS ?? 10);
const MEMORY_MIB = 512;
const READY_TIMEOUT = 180_000;

const report = new BenchReport('libvirt', {
  what: "launch() to the default guest's ready marker; vm.attach -> guest sees the NIC -> vm.detach -> it is gone; vm.snapshot() once, then restore() until the guest's harness answers (q35, TCG, 512 MiB, one tcfilter veth NIC)",
  baseline:
    "libvirt (Debian's libvirtd, started privately for the run): `virsh create` to the same marker; `virsh attach-device`/`detach-device --live` of an ethernet interface on a pre-made tap, same guest-side detection; `virsh save` once, then `virsh restore` until the same answer",
});

const tag = randomBytes(3).toString('hex');
const nsOurs = `vml-bench-lvo-${tag}`;
const nsLibvirt = `vml-bench-lv-${tag}`;
const domainPrefix = `vml-bench-lv-${tag}`;
const since = (t: number): number => performance.now() - t;

const guestImage = await locateGuestImage();
const cmdline = GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console='));
const domainGuest = {
  kernel: guestImage.kernel,
  initrd: guestImage.initrd,
  cmdline,
  memoryMiB: MEMORY_MIB,
};

// `virsh create` of a domain with a NIC on `tap`; resolves when create returned and when the
// guest printed its marker, in ms from the call.
async function libvirtBoot(
  lv: Libvirtd,
  id: string,
): Promise<{ domain: Domain; created: number; ready: number }> {
  const name = `${domainPrefix}-${id}`;
  const xml = join(lv.dir, `${name}.xml`);
  const consolePath = consoleSocketPath(lv, name);
  writeFileSync(xml, domainXml(domainGuest, name, 'vmllv0', '52:54:00:1b:00:01', consolePath));
  const t0 = performance.now();
  await lv.virsh.run(`create ${xml}`);
  const created = since(t0);
  const domain = await reachDomain(lv, name);
  try {
    await domain.guest.waitReady({ timeout: READY_TIMEOUT });
  } catch (error) {
    await destroyDomain(lv, domain);
    throw error;
  }
  return { domain, created, ready: since(t0) };
}

// The accelerator libvirt's QEMU runs under, read from its command line.
function libvirtAccel(name: string): string {
  for (const pid of execFileSync('pgrep', ['-f', `guest=${name}`], { encoding: 'utf8' })
    .trim()
    .split('\n')) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.indexOf('-accel');
    if (at >= 0) {
      console.log(`libvirt's QEMU argv: ${argv.join(' ')}`);
      return argv[at + 1]!;
    }
  }
  return 'unknown';
}

async function oursBoot(): Promise<{ vm: Vm; launched: number; ready: number }> {
  const t0 = performance.now();
  const vm = await launch({
    kernel: guestImage.kernel,
    initrd: guestImage.initrd,
    template: 'q35',
    cmdline,
    memoryMiB: MEMORY_MIB,
    cpus: 1,
    accel: 'tcg',
    endpoints: [
      { endpoint: { kind: 'veth', name: 'eth1', interworking: 'tcfilter' }, netns: nsOurs },
    ],
  });
  const launched = since(t0);
  report.accel(vm.accel.accel);
  try {
    await vm.guest.waitReady({ timeout: READY_TIMEOUT });
  } catch (error) {
    await vm.kill();
    throw error;
  }
  return { vm, launched, ready: since(t0) };
}

/** Times of one hot-plug round: attach until the guest shows it, detach until it is gone. */
interface Plug {
  attach: number;
  detach: number;
}

async function oursPlug(vm: Vm, i: number): Promise<Plug> {
  const t0 = performance.now();
  const nic = await vm.attach(
    { endpoint: { kind: 'veth', name: 'eth2', interworking: 'tcfilter' }, netns: nsOurs },
    { id: `hp${i}`, waitForGuest: false },
  );
  await waitForGuestMac(vm.guest, nic.mac, true);
  const attach = since(t0);
  const t1 = performance.now();
  const result = await vm.detach(nic.id, { timeout: 15_000 });
  if (result.status !== 'removed') throw new Error(`detach ${nic.id}: ${result.explanation}`);
  await waitForGuestMac(vm.guest, nic.mac, false);
  return { attach, detach: since(t1) };
}

async function libvirtPlug(lv: Libvirtd, d: Domain, i: number): Promise<Plug> {
  const tap = `vmlhp${i}`;
  const mac = `52:54:00:1b:01:${(i & 0xff).toString(16).padStart(2, '0')}`;
  const xml = join(lv.dir, `nic-${i}.xml`);
  writeFileSync(
    xml,
    `<interface type='ethernet'><mac address='${mac}'/><target dev='${tap}' managed='no'/><model type='virtio'/><rom enabled='no'/></interface>\n`,
  );
  plumbTap(nsLibvirt, tap, 'eth2');
  try {
    const t0 = performance.now();
    await lv.virsh.run(`attach-device ${d.name} ${xml} --live`);
    await waitForGuestMac(d.guest, mac, true);
    const attach = since(t0);
    const t1 = performance.now();
    await lv.virsh.run(`detach-device ${d.name} ${xml} --live`);
    await waitForGuestMac(d.guest, mac, false);
    return { attach, detach: since(t1) };
  } finally {
    unplumbTap(nsLibvirt, tap, 'eth2');
  }
}

const p50 = (v: number[]): number => percentile(v, 50);
const fmt = (v: number[]): string =>
  `p50 ${p50(v).toFixed(0)} ms, p95 ${percentile(v, 95).toFixed(0)} ms (n=${v.length})`;

let lv: Libvirtd | undefined;
let ourVm: Vm | undefined;
let theirs: Domain | undefined;
const made: string[] = [];
let failure: Error | undefined;
try {
  for (const ns of [nsOurs, nsLibvirt]) {
    made.push(ns);
    makeNetns(ns);
  }
  const t = performance.now();
  lv = await startLibvirtd(nsLibvirt, domainPrefix);
  const daemonStart = since(t);
  console.log(
    `libvirtd ${lv.pid} answering after ${daemonStart.toFixed(0)} ms (includes its QEMU capability probe)`,
  );
  report.value(
    'libvirtd start to first answer (capability probe included; once per daemon)',
    daemonStart,
    'ms',
  );
  report.note(
    `libvirt: ${execFileSync('libvirtd', ['--version'], { encoding: 'utf8' }).trim()}, started by hand for the run (private config, sockets, state; root; security_driver none; no cgroups).`,
  );

  // Launch rounds, alternating; round 0 warms both up (page cache, libvirt's first domain).
  const ours = { launched: [] as number[], ready: [] as number[] };
  const libvirt = { created: [] as number[], ready: [] as number[] };
  plumbTap(nsLibvirt, 'vmllv0', 'eth1');
  for (let i = 0; i <= ROUNDS; i++) {
    const sides = [
      async () => {
        const r = await oursBoot();
        await r.vm.shutdown({ timeout: 5000 });
        if (i > 0) {
          ours.launched.push(r.launched);
          ours.ready.push(r.ready);
        }
      },
      async () => {
        const r = await libvirtBoot(lv!, `b${i}`);
        if (i === 0) report.accel(libvirtAccel(r.domain.name));
        await destroyDomain(lv!, r.domain);
        if (i > 0) {
          libvirt.created.push(r.created);
          libvirt.ready.push(r.ready);
        }
      },
    ];
    for (const side of i % 2 === 0 ? sides : sides.reverse()) await side();
    console.log(`launch round ${i}${i === 0 ? ' (warm-up)' : ''} done`);
  }
  console.log(`launch() returned: ${fmt(ours.launched)}; guest ready: ${fmt(ours.ready)}`);
  console.log(`virsh create returned: ${fmt(libvirt.created)}; guest ready: ${fmt(libvirt.ready)}`);
  report.samples('vmlaunch: launch() returned', ours.launched);
  report.samples('vmlaunch: guest ready marker', ours.ready);
  report.samples('libvirt: virsh create returned', libvirt.created);
  report.samples('libvirt: guest ready marker', libvirt.ready);

  // One traced libvirt boot: where does its time go?
  lv.debugLog('trace-create.log');
  const traced = await libvirtBoot(lv, 'trace');
  lv.debugLog(undefined);
  await destroyDomain(lv, traced.domain);
  const createLines = explainTrace(keepTrace(lv, 'trace-create.log'), 'virsh create, traced');
  unplumbTap(nsLibvirt, 'vmllv0', 'eth1');

  // Hot-plug rounds on one VM of each, alternating; round 0 warms up.
  plumbTap(nsLibvirt, 'vmllv0', 'eth1');
  ourVm = (await oursBoot()).vm;
  theirs = (await libvirtBoot(lv, 'hp')).domain;
  const oursPlugs: Plug[] = [];
  const libvirtPlugs: Plug[] = [];
  for (let i = 0; i <= HOTPLUG_ROUNDS; i++) {
    const sides = [
      async () => {
        const r = await oursPlug(ourVm!, i);
        if (i > 0) oursPlugs.push(r);
      },
      async () => {
        const r = await libvirtPlug(lv!, theirs!, i);
        if (i > 0) libvirtPlugs.push(r);
      },
    ];
    for (const side of i % 2 === 0 ? sides : sides.reverse()) await side();
  }
  lv.debugLog('trace-hotplug.log');
  await libvirtPlug(lv, theirs, HOTPLUG_ROUNDS + 1);
  lv.debugLog(undefined);
  const plugLines = explainTrace(
    keepTrace(lv, 'trace-hotplug.log'),
    'virsh attach-device + detach-device, traced',
  );
  await ourVm.shutdown({ timeout: 5000 });
  ourVm = undefined;
  await destroyDomain(lv, theirs);
  theirs = undefined;

  // Restore rounds: both sides saved once, restored round after round (bench/libvirt-restore.ts).
  const restoreStart = performance.now();
  const restored = await compareRestore({
    lv,
    report,
    rounds: ROUNDS,
    nsOurs,
    nsLibvirt,
    bootOurs: async () => (await oursBoot()).vm,
    bootLibvirt: async (id) => (await libvirtBoot(lv!, id)).domain,
  });
  console.log(`restore comparison took ${(since(restoreStart) / 1000).toFixed(0)} s`);
  const cycle = (p: Plug): number => p.attach + p.detach;
  for (const [who, plugs] of [
    ['vmlaunch', oursPlugs],
    ['libvirt', libvirtPlugs],
  ] as const) {
    console.log(
      `${who}: attach to guest shows it ${fmt(plugs.map((p) => p.attach))}; detach to gone ${fmt(plugs.map((p) => p.detach))}`,
    );
    report.samples(
      `${who}: attach until the guest shows the NIC`,
      plugs.map((p) => p.attach),
    );
    report.samples(
      `${who}: detach until the guest no longer shows it`,
      plugs.map((p) => p.detach),
    );
  }
  for (const line of [...createLines, ...plugLines, ...restored.lines]) {
    console.log(line);
    report.note(line);
  }
  report.note(
    "libvirt opens pre-made taps by name (<target managed='no'/>, in the netns its libvirtd runs in); making them and their tc filters is not timed, while vmlaunch's times include its own tap and tc work. virsh is one long-lived process with its connection open.",
  );
  report.ratio(
    'vs-libvirt-launch-ratio',
    p50(ours.ready) / p50(libvirt.ready),
    'p50 launch() to guest ready / p50 virsh create to guest ready (below 1: faster)',
  );
  report.ratio(
    'vs-libvirt-hotplug-ratio',
    p50(oursPlugs.map(cycle)) / p50(libvirtPlugs.map(cycle)),
    'p50 (attach until seen + detach until gone), ours / libvirt (below 1: faster)',
  );
  report.ratio(
    'vs-libvirt-restore-ratio',
    p50(restored.ours) / p50(restored.libvirt),
    'p50 restore() to the guest answering / p50 virsh restore to the guest answering (below 1: faster)',
  );
} catch (error) {
  failure = error as Error;
} finally {
  await ourVm?.shutdown({ timeout: 5000 }).catch(() => undefined);
  if (theirs && lv) await destroyDomain(lv, theirs).catch(() => undefined);
  const problems = (await lv?.stop()) ?? [];
  for (const ns of made.reverse()) run('ip', 'netns', 'del', ns);
  report.write();
  if (problems.length > 0) {
    console.error(`left behind and cleaned up: ${problems.join('; ')}`);
    failure ??= new Error('libvirt left processes or directories behind');
  }
}
if (failure) throw failure;
