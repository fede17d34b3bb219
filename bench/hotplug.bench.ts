// Benchmark: NIC hot-plug on one running VM (default guest, q35, ACPI hot-plug root ports).
// Part 1: 20 rounds of vm.attach (a tcfilter veth) -> the guest sees the NIC -> vm.detach ->
// the guest no longer shows it; p50/p95 per phase. Part 2, the QMP part alone: our QMP client
// against a minimal python3 stdlib client on a second QMP monitor of the same QEMU, both doing
// getfd (SCM_RIGHTS) + netdev_add + device_add with identical arguments, on tap fds the bench
// opens in its netns and hands over (python gets its copy over a unix socketpair). Ours sends
// the three as vm.attach does (launcher/hotplug/qmp-plug.ts: pipelined, the fd lane keeping
// fd calls apart); python sends one and waits for its reply, as a minimal client does. A third
// variant, ours one call at a time, shows the client alone. Then each side unplugs its device
// (device_del, DEVICE_DELETED, netdev_del): timed and reported apart (netdev_del is mostly the
// kernel tearing the tap down), the guest's own work between the steps untimed. Rounds rotate
// the order of the three variants so drift on a shared host hits all alike.
// Last line: `hotplug-qmp-ratio: <ours / python>` for the attach commands (target <= 1.0).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitForGuestMac } from '../launcher/cli/guest-nic.js';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launchWithDeps } from '../launcher/launch.js';
import { spawnQemu } from '../launcher/process.js';
import type { QmpClient } from '../launcher/qmp/index.js';
import type { Vm } from '../launcher/vm.js';
import { closeFd, sendFds, socketpair, tapOpen } from '../native/index.js';
import { createNetns, type NamedNetns } from '../network/netns/index.js';
import { openNetlink } from '../network/netlink/index.js';
import { BenchReport } from './report.js';

const report = new BenchReport('hotplug', {
  what: 'vm.attach of a tcfilter veth -> the guest sees the NIC -> vm.detach -> it is gone; and the QMP part alone (getfd + netdev_add + device_add)',
  baseline:
    'for the QMP part, a minimal python3 stdlib client on a second QMP monitor of the same QEMU sending the same commands, rounds rotating',
});

const ROUNDS = 20;
const QMP_ROUNDS = 40;

const PYTHON_CLIENT = String.raw`
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
ctl = socket.socket(fileno=3)
f = s.makefile('rb')
events, n = [], 0
def call(cmd, args, fds=None):
    global n
    n += 1
    data = (json.dumps({"execute": cmd, "arguments": args, "id": n}) + "\n").encode()
    if fds: socket.send_fds(s, [data], fds)
    else: s.sendall(data)
    while True:
        r = json.loads(f.readline())
        if r.get("id") == n:
            if "error" in r: raise RuntimeError(cmd + ": " + r["error"]["desc"])
            return r
        if "event" in r: events.append(r)
def deleted(dev):
    return any(e["event"] == "DEVICE_DELETED" and e.get("data", {}).get("device") == dev for e in events)
f.readline()
n += 1; s.sendall((json.dumps({"execute": "qmp_capabilities", "id": n}) + "\n").encode())
while json.loads(f.readline()).get("id") != n: pass
print("ready", flush=True)
def timed(cmd, args, fds=None):
    t = time.perf_counter_ns()
    call(cmd, args, fds)
    return (time.perf_counter_ns() - t) / 1e6
for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "add":
        _, fds, _, _ = socket.recv_fds(ctl, 16, 1)
        ms = [timed("getfd", {"fdname": req["fdname"]}, fds), timed("netdev_add", req["netdev"]), timed("device_add", req["device"])]
        os.close(fds[0])
        print(json.dumps({"ms": ms}), flush=True)
    else:
        dev = req["device"]
        events.clear()
        ms = [timed("device_del", {"id": dev})]
        t = time.perf_counter_ns()
        while not deleted(dev):
            r = json.loads(f.readline())
            if "event" in r: events.append(r)
        unplug = (time.perf_counter_ns() - t) / 1e6
        ms.append(timed("netdev_del", {"id": req["netdev"]}))
        print(json.dumps({"ms": ms, "unplugMs": unplug}), flush=True)
`;

// Percentile (nearest rank) of a sample.
function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const since = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;
const fmt = (v: number[]): string =>
  `p50 ${pct(v, 50).toFixed(1)} ms, p95 ${pct(v, 95).toFixed(1)} ms`;

/** The same QMP work for both clients: argument objects of one round. */
function roundArgs(tag: string, i: number, bus: string) {
  const [id, fdname, netdev] = [`nic-bq${tag}${i}`, `fd-bq${tag}${i}`, `netdev-bq${tag}${i}`];
  const byte = { o: '0a', p: '0b', s: '0c' }[tag] ?? '0d';
  const mac = `52:54:00:b0:${byte}:${i.toString(16).padStart(2, '0')}`;
  return {
    fdname,
    mac,
    netdev: { type: 'tap', id: netdev, fd: fdname, vhost: false },
    device: { driver: 'virtio-net-pci', id, netdev, mac, bus, romfile: '' },
  };
}

/** The python client: its process, its reply lines, our end of the fd-passing socketpair. */
interface PythonClient {
  py: ChildProcess;
  lines: AsyncIterator<string>;
  ctl: number;
}

// One line-request/line-reply conversation with the python client.
function pythonLine(c: PythonClient, req: unknown) {
  c.py.stdin?.write(`${JSON.stringify(req)}\n`);
  return c.lines
    .next()
    .then((r) => JSON.parse(String(r.value)) as { ms: number[]; unplugMs?: number });
}

/** Times of one round: the attach commands, the unplug commands, per command where known. */
interface Round {
  attach: number;
  unplug: number;
  ms: number[];
  unplugMs: number;
}

// Part 2, ours: the three attach commands (pipelined as vm.attach sends them, or one at a time),
// then device_del + netdev_del, each part timed.
async function oursRound(
  qmp: QmpClient,
  vm: Vm,
  ns: string,
  tag: string,
  i: number,
  bus: string,
  pipelined: boolean,
): Promise<Round> {
  const a = roundArgs(tag, i, bus);
  const { fds } = tapOpen(ns, `vq${tag}${i}`, { queues: 1, vnetHdr: true });
  const fd = fds[0]!;
  const timed = async (call: () => Promise<unknown>): Promise<number> => {
    const t = process.hrtime.bigint();
    await call();
    return since(t);
  };
  let ms: number[] = [];
  const t0 = process.hrtime.bigint();
  if (pipelined) {
    await Promise.all([
      qmp.getfd({ fdname: a.fdname, fd }),
      qmp.netdevAdd(a.netdev),
      qmp.deviceAdd(a.device),
    ]);
  } else {
    ms = [
      await timed(() => qmp.getfd({ fdname: a.fdname, fd })),
      await timed(() => qmp.netdevAdd(a.netdev)),
      await timed(() => qmp.deviceAdd(a.device)),
    ];
  }
  const attach = since(t0);
  closeFd(fd);
  await waitForGuestMac(vm.guest, a.mac, true);
  const gone = qmp.expectEvent('DEVICE_DELETED', (e) => e.data?.device === a.device.id, {
    timeout: 30_000,
  });
  const del = await timed(() => qmp.deviceDel({ id: a.device.id }));
  const unplugMs = await timed(() => gone.promise);
  const netdevDel = await timed(() => qmp.netdevDel({ id: a.netdev.id }));
  return { attach, unplug: del + netdevDel, ms: [...ms, del, netdevDel], unplugMs };
}

// Part 2, python: the bench opens the tap and sends it over; python times the same commands.
async function pythonRound(
  c: PythonClient,
  vm: Vm,
  ns: string,
  i: number,
  bus: string,
): Promise<Round> {
  const a = roundArgs('p', i, bus);
  const { fds } = tapOpen(ns, `vqp${i}`, { queues: 1, vnetHdr: true });
  const reply = pythonLine(c, { op: 'add', ...a });
  sendFds(c.ctl, Buffer.from('f'), fds);
  closeFd(fds[0]!);
  const add = await reply;
  await waitForGuestMac(vm.guest, a.mac, true);
  const del = await pythonLine(c, { op: 'del', device: a.device.id, netdev: a.netdev.id });
  const sum = (v: number[]) => v.reduce((x, y) => x + y, 0);
  return {
    attach: sum(add.ms),
    unplug: sum(del.ms),
    ms: [...add.ms, ...del.ms],
    unplugMs: del.unplugMs ?? 0,
  };
}

// Runs both parts on one VM and prints the report.
async function main(): Promise<void> {
  const guest = await locateGuestImage();
  const tag = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'vml-bench-hp-'));
  const qmp2 = join(dir, 'qmp2.sock');
  let ns: NamedNetns | undefined;
  let vm: Vm | undefined;
  let py: ChildProcess | undefined;
  const [ctlOurs, ctlTheirs] = socketpair();
  let theirsOpen = true;
  try {
    ns = createNetns(`vml-bench-hp-${tag}`);
    const nl = openNetlink(ns.path);
    try {
      await nl.links.setUp('lo');
      await nl.links.addVeth({ name: 'eth1', peer: { name: 'peer1' } });
      await nl.links.setUp('eth1');
      await nl.links.setUp('peer1');
    } finally {
      await nl.close();
    }
    vm = await launchWithDeps(
      {
        kernel: guest.kernel,
        initrd: guest.initrd,
        template: 'q35',
        cmdline: GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console=')),
        // Unconfined: the second monitor's socket is in our private temp dir, which a jailed
        // QEMU cannot write. Both sides hot-plug into this one QEMU, so the ratio is unaffected.
        confine: false,
      },
      {
        // A second QMP monitor on a unix socket in our private temp dir, for the python client.
        spawnQemu: (o) =>
          spawnQemu({
            ...o,
            args: [
              ...o.args,
              '-chardev',
              `socket,id=qmp2,path=${qmp2},server=on,wait=off`,
              '-mon',
              'chardev=qmp2,mode=control',
            ],
          }),
      },
    );
    const running = vm;
    await running.guest.waitReady({ timeout: 120_000 });
    report.accel(running.accel.accel);
    console.log(
      `hotplug bench: VM pid ${running.pid}, ${running.accel.accel.toUpperCase()}, netns ${ns.name}`,
    );

    const phases = {
      attach: [] as number[],
      sees: [] as number[],
      detach: [] as number[],
      gone: [] as number[],
    };
    for (let i = -1; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint();
      const nic = await running.attach(
        { endpoint: { kind: 'veth', name: 'eth1', interworking: 'tcfilter' }, netns: ns.path },
        { id: `hp${i + 1}`, waitForGuest: false },
      );
      const attach = since(t0);
      const t1 = process.hrtime.bigint();
      await waitForGuestMac(running.guest, nic.mac, true);
      const sees = since(t1);
      const t2 = process.hrtime.bigint();
      const result = await running.detach(nic.id, { timeout: 15_000 });
      if (result.status !== 'removed') throw new Error(`detach ${nic.id}: ${result.explanation}`);
      const detach = since(t2);
      const t3 = process.hrtime.bigint();
      await waitForGuestMac(running.guest, nic.mac, false);
      const gone = since(t3);
      if (i < 0) continue; // the first round warms up
      phases.attach.push(attach);
      phases.sees.push(sees);
      phases.detach.push(detach);
      phases.gone.push(gone);
    }
    console.log(`vm.attach (tcfilter veth: host + QMP): ${fmt(phases.attach)}`);
    console.log(`guest sees the NIC (/sys/class/net, after attach): ${fmt(phases.sees)}`);
    console.log(`vm.detach (device_del -> DEVICE_DELETED -> cleanup): ${fmt(phases.detach)}`);
    console.log(`guest no longer shows it (after detach): ${fmt(phases.gone)}`);

    const bus = running.command.hotplugBuses.at(-1)!;
    const child = spawn('python3', ['-c', PYTHON_CLIENT, qmp2], {
      stdio: ['pipe', 'pipe', 'inherit', ctlTheirs],
    });
    py = child;
    closeFd(ctlTheirs);
    theirsOpen = false;
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    if ((await lines.next()).value !== 'ready') throw new Error('python client did not start');
    const client: PythonClient = { py: child, lines, ctl: ctlOurs };
    const ours: Round[] = [];
    const seq: Round[] = [];
    const theirs: Round[] = [];
    const turns = [
      (i: number) =>
        oursRound(running.qmp, running, ns!.path, 'o', i, bus, true).then((r) => ours.push(r)),
      (i: number) => pythonRound(client, running, ns!.path, i, bus).then((r) => theirs.push(r)),
      (i: number) =>
        oursRound(running.qmp, running, ns!.path, 's', i, bus, false).then((r) => seq.push(r)),
    ];
    // Round -1 warms up; the order of the three rotates every round.
    for (let i = -1; i < QMP_ROUNDS; i++) {
      const k = i + 1;
      for (let j = 0; j < turns.length; j++) await turns[(k + j) % turns.length]!(k);
      if (i < 0) [ours, theirs, seq].forEach((rs) => rs.splice(0));
    }
    const p50 = (rs: Round[], part: (r: Round) => number) => pct(rs.map(part), 50);
    const cmd = (rs: Round[], k: number) => p50(rs, (r) => r.ms[k]!).toFixed(2);
    const perCommand = ['getfd', 'netdev_add', 'device_add']
      .map((name, k) => `${name} ${cmd(seq, k)}/${cmd(theirs, k)}`)
      .join(', ');
    const attachOf = (r: Round) => r.attach;
    console.log(
      `QMP attach part (getfd+netdev_add+device_add; ${QMP_ROUNDS} rounds, order rotating):`,
    );
    console.log(
      `  vmlaunch client, as vm.attach sends them (pipelined): ${fmt(ours.map(attachOf))}`,
    );
    console.log(`  vmlaunch client, one call at a time:                 ${fmt(seq.map(attachOf))}`);
    console.log(
      `  python3 stdlib client, one call at a time:           ${fmt(theirs.map(attachOf))}`,
    );
    console.log(`  per command, p50 ms ours (one at a time)/python: ${perCommand}`);
    console.log(
      `  one at a time, ours/python: ${(p50(seq, attachOf) / p50(theirs, attachOf)).toFixed(3)}`,
    );
    const unplugOf = (r: Round) => r.unplug;
    const unplugCmd = (rs: Round[], k: number) => p50(rs, (r) => r.ms.at(k)!).toFixed(2);
    console.log(
      `QMP unplug part (device_del + netdev_del, guest wait untimed): ours ${fmt(ours.map(unplugOf))}; ` +
        `python ${fmt(theirs.map(unplugOf))}; device_del ${unplugCmd(ours, -2)}/${unplugCmd(theirs, -2)}, ` +
        `netdev_del ${unplugCmd(ours, -1)}/${unplugCmd(theirs, -1)} ms; ratio ${(p50(ours, unplugOf) / p50(theirs, unplugOf)).toFixed(3)}`,
    );
    const waitOf = (r: Round) => r.unplugMs;
    console.log(
      `guest unplug wait, untimed above (device_del reply -> DEVICE_DELETED): ours ${fmt(ours.map(waitOf))}; python ${fmt(theirs.map(waitOf))}`,
    );
    report.samples('vm.attach (host + QMP)', phases.attach);
    report.samples('guest sees the NIC, after attach', phases.sees);
    report.samples('vm.detach (device_del -> DEVICE_DELETED -> cleanup)', phases.detach);
    report.samples('guest no longer shows it, after detach', phases.gone);
    report.samples('QMP attach, vmlaunch client pipelined', ours.map(attachOf));
    report.samples('QMP attach, python3 client (baseline)', theirs.map(attachOf));
    report.ratio(
      'hotplug-qmp-ratio',
      p50(ours, attachOf) / p50(theirs, attachOf),
      'p50 QMP attach commands, ours / python3 (target <= 1.0)',
    );
    report.write();
  } finally {
    py?.stdin?.end();
    if (py && py.exitCode === null) py.kill('SIGKILL');
    closeFd(ctlOurs);
    if (theirsOpen) closeFd(ctlTheirs);
    if (vm) await vm.shutdown();
    ns?.delete();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
