// The heap part of bench/scale.bench.ts: attach/detach cycles of a NIC through the launcher's
// own hot-plug code (attachNic/detachNic, the code behind vm.attach/vm.detach) against a
// scripted QMP server (test/helpers/fake-qmp.ts) that keeps QEMU's books (named fds, netdevs,
// devices) and answers device_del with DEVICE_DELETED. No QEMU and no guest: what grows or not
// is our process's heap and fds. Needs node --expose-gc.
import { openSync, readdirSync } from 'node:fs';
import { attachNic } from '../launcher/hotplug/attach.js';
import type { HotplugContext } from '../launcher/hotplug/context.js';
import { detachNic } from '../launcher/hotplug/detach.js';
import { HotplugRegistry } from '../launcher/hotplug/registry.js';
import { QmpClient } from '../launcher/qmp/client.js';
import { QmpTransport } from '../launcher/qmp/transport.js';
import { closeAll } from '../native/index.js';
import { FakeQmp } from '../test/helpers/fake-qmp.js';

/** Heap (after a full GC) and our fd count at points of the run. */
export interface HeapPoint {
  cycle: number;
  heapUsed: number;
  fds: number;
}

// Answers every command as QEMU 7.2 would for a tap NIC's attach and detach.
async function serve(fake: FakeQmp): Promise<void> {
  const named = new Map<string, number>();
  const netdevs = new Map<string, number[]>();
  for (;;) {
    const c = await fake.nextCommand();
    // The fake logs every command for tests to read; here that log would be the heap's growth.
    fake.received.length = 0;
    const a = (c.arguments ?? {}) as Record<string, string | undefined>;
    if (c.execute === 'getfd') named.set(String(a.fdname), c.fds[0]!);
    if (c.execute === 'netdev_add') {
      const names = [a.fd, a.fds].filter((v): v is string => typeof v === 'string');
      const fds = names.flatMap((v) => v.split(':')).map((n) => named.get(n)!);
      for (const n of names.flatMap((v) => v.split(':'))) named.delete(n);
      netdevs.set(String(a.id), fds);
    }
    if (c.execute === 'netdev_del') {
      closeAll(netdevs.get(String(a.id)) ?? []);
      netdevs.delete(String(a.id));
    }
    if (c.execute === 'closefd') {
      closeAll([named.get(String(a.fdname))!].filter((fd) => fd !== undefined));
      named.delete(String(a.fdname));
    }
    fake.reply(c);
    if (c.execute === 'device_del')
      fake.event('DEVICE_DELETED', { device: a.id, path: `/machine/peripheral/${a.id}` });
  }
}

const fdCount = (): number => readdirSync('/proc/self/fd').length;

function heapNow(cycle: number): HeapPoint {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench:scale does)');
  gc();
  gc();
  return { cycle, heapUsed: process.memoryUsage().heapUsed, fds: fdCount() };
}

// Runs `cycles` attach+detach cycles (after `warmup` untimed ones); the heap every `every`.
export async function qmpCycles(
  cycles: number,
  warmup: number,
  every: number,
): Promise<HeapPoint[]> {
  const fake = new FakeQmp();
  const qmp = new QmpClient(QmpTransport.fromFd(fake.clientFd));
  await Promise.all([qmp.connect(), fake.handshake()]);
  void serve(fake);
  const ctx: HotplugContext = {
    qmp,
    registry: new HotplugRegistry(['rp0', 'rp1']),
    transport: 'pci',
    sharedMemory: false,
    accel: 'tcg',
    romfile: 'none',
    machine: 'q35',
    running: () => !fake.clientClosed && qmp.state === 'ready',
    // The host side: a tap fd stands in as /dev/null (the network layer is not under test).
    attachEndpoint: (endpoint, c) =>
      Promise.resolve({
        endpoint,
        hostNic: {
          kind: 'tap',
          id: c.nicId,
          mac: '52:54:00:5c:00:01',
          mtu: 1500,
          tapFds: [openSync('/dev/null', 'r')],
          vhostFds: [],
          vhost: { enabled: false },
          ifname: 'vmlt0',
        },
        detach: () => Promise.resolve(),
      }),
    closeFds: closeAll,
  };
  const points: HeapPoint[] = [];
  try {
    for (let i = -warmup; i < cycles; i++) {
      if (i >= 0 && i % every === 0) points.push(heapNow(i));
      await attachNic(ctx, { endpoint: { kind: 'tap', name: 'vmlt0' } }, { id: 'hp0' });
      const r = await detachNic(ctx, 'hp0');
      if (r.status !== 'removed') throw new Error(`cycle ${i}: detach ${r.status}`);
    }
    points.push(heapNow(cycles));
  } finally {
    qmp.close();
    fake.close();
  }
  return points;
}
