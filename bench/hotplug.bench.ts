// Benchmark: NIC hot-plug on one running VM (default guest, q35, ACPI hot-plug root ports).
// Part 1: 20 rounds of vm.attach (a tcfilter veth) -> the guest sees the NIC -> vm.detach ->
// the guest no longer shows it; p50/p95 per phase. Part 2, the QMP part alone: our QMP client
// against a minimal python3 stdlib client on a second QMP monitor of the same QEMU, both doing
// getfd (SCM_RIGHTS) + netdev_add + device_add, then device_del + netdev_del, with identical
// arguments, on tap fds the bench opens in its netns and hands over (python gets its copy over
// a unix socketpair), rounds alternating. Only the commands' round trips are timed on both
// sides; the guest's own work between them (binding, then releasing the NIC) is waited for
// untimed and reported apart. Last line: `hotplug-qmp-ratio: <ours / python>` (target <= 1.0).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitForGuestMac } from '../launcher/cli/guest-nic.js';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch } from '../launcher/launch.js';
import { spawnQemu } from '../launcher/process.js';
import type { QmpClient } from '../launcher/qmp/index.js';
import type { Vm } from '../launcher/vm.js';
import { closeFd, sendFds, socketpair, tapOpen } from '../native/index.js';
import { createNetns, type NamedNetns } from '../network/netns/index.js';
import { openNetlink } from '../network/netlink/index.js';

const ROUNDS = 20;

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
for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "add":
        _, fds, _, _ = socket.recv_fds(ctl, 16, 1)
        t0 = time.perf_counter_ns()
        call("getfd", {"fdname": req["fdname"]}, fds)
        call("netdev_add", req["netdev"])
        call("device_add", req["device"])
        t1 = time.perf_counter_ns()
        os.close(fds[0])
        print(json.dumps({"qmpUs": (t1 - t0) / 1000}), flush=True)
    else:
        dev = req["device"]
        events.clear()
        t0 = time.perf_counter_ns()
        call("device_del", {"id": dev})
        t1 = time.perf_counter_ns()
        while not deleted(dev):
            r = json.loads(f.readline())
            if "event" in r: events.append(r)
        t2 = time.perf_counter_ns()
        call("netdev_del", {"id": req["netdev"]})
        t3 = time.perf_counter_ns()
        print(json.dumps({"qmpUs": ((t1 - t0) + (t3 - t2)) / 1000, "unplugUs": (t2 - t1) / 1000}), flush=True)
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
  const id = `bq${tag}${i}`;
  const mac = `52:54:00:b0:${tag === 'o' ? '0a' : '0b'}:${i.toString(16).padStart(2, '0')}`;
  return {
    fdname: `fd-${id}`,
    mac,
    netdev: { type: 'tap', id: `netdev-${id}`, fd: `fd-${id}`, vhost: false },
    device: {
      driver: 'virtio-net-pci',
      id: `nic-${id}`,
      netdev: `netdev-${id}`,
      mac,
      bus,
      romfile: '',
    },
  };
}

// One line-request/line-reply conversation with the python client.
function pythonLine(py: ChildProcess, lines: AsyncIterator<string>, req: unknown) {
  py.stdin?.write(`${JSON.stringify(req)}\n`);
  return lines
    .next()
    .then((r) => JSON.parse(String(r.value)) as { qmpUs: number; unplugUs?: number });
}

// Part 2, ours: the three attach commands timed, then device_del + netdev_del timed.
async function oursRound(qmp: QmpClient, vm: Vm, ns: string, i: number, bus: string) {
  const a = roundArgs('o', i, bus);
  const { fds } = tapOpen(ns, `vqo${i}`, { queues: 1, vnetHdr: true });
  const fd = fds[0]!;
  const t0 = process.hrtime.bigint();
  await qmp.getfd({ fdname: a.fdname, fd });
  await qmp.netdevAdd(a.netdev);
  await qmp.deviceAdd(a.device);
  const addMs = since(t0);
  closeFd(fd);
  await waitForGuestMac(vm.guest, a.mac, true);
  const gone = qmp.expectEvent('DEVICE_DELETED', (e) => e.data?.device === a.device.id, {
    timeout: 30_000,
  });
  const t1 = process.hrtime.bigint();
  await qmp.deviceDel({ id: a.device.id });
  const delMs = since(t1);
  const t2 = process.hrtime.bigint();
  await gone.promise;
  const unplugMs = since(t2);
  const t3 = process.hrtime.bigint();
  await qmp.netdevDel({ id: a.netdev.id });
  return { qmpMs: addMs + delMs + since(t3), unplugMs };
}

// Part 2, python: the bench opens the tap and sends it over; python times the same commands.
async function pythonRound(
  py: ChildProcess,
  lines: AsyncIterator<string>,
  ctl: number,
  vm: Vm,
  ns: string,
  i: number,
  bus: string,
) {
  const a = roundArgs('p', i, bus);
  const { fds } = tapOpen(ns, `vqp${i}`, { queues: 1, vnetHdr: true });
  const reply = pythonLine(py, lines, {
    op: 'add',
    fdname: a.fdname,
    netdev: a.netdev,
    device: a.device,
  });
  sendFds(ctl, Buffer.from('f'), fds);
  closeFd(fds[0]!);
  const add = await reply;
  await waitForGuestMac(vm.guest, a.mac, true);
  const del = await pythonLine(py, lines, { op: 'del', device: a.device.id, netdev: a.netdev.id });
  return { qmpMs: (add.qmpUs + del.qmpUs) / 1000, unplugMs: (del.unplugUs ?? 0) / 1000 };
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
    vm = await launch({
      kernel: guest.kernel,
      initrd: guest.initrd,
      template: 'q35',
      cmdline: GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console=')),
      deps: {
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
    });
    const running = vm;
    await running.guest.waitReady({ timeout: 120_000 });
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
    const ours: number[] = [];
    const theirs: number[] = [];
    const unplugOurs: number[] = [];
    const unplugTheirs: number[] = [];
    for (let i = -1; i < ROUNDS; i++) {
      const o = await oursRound(running.qmp, running, ns.path, i + 1, bus);
      const p = await pythonRound(child, lines, ctlOurs, running, ns.path, i + 1, bus);
      if (i < 0) continue;
      ours.push(o.qmpMs);
      theirs.push(p.qmpMs);
      unplugOurs.push(o.unplugMs);
      unplugTheirs.push(p.unplugMs);
    }
    console.log(
      `QMP part, vmlaunch client (getfd+netdev_add+device_add, device_del+netdev_del): ${fmt(ours)}`,
    );
    console.log(`QMP part, python3 stdlib client (same commands, same QEMU): ${fmt(theirs)}`);
    console.log(
      `guest unplug wait, untimed above (device_del reply -> DEVICE_DELETED): ours ${fmt(unplugOurs)}; python ${fmt(unplugTheirs)}`,
    );
    console.log(`hotplug-qmp-ratio: ${(pct(ours, 50) / pct(theirs, 50)).toFixed(3)}`);
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
