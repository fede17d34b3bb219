// Rate limits with the default guest: a cold-plugged veth NIC launched with a guest-transmit
// limit R, a transfer from the guest (busybox dd | nc) to a TCP sink in the peer netns takes at
// least 0.9 x size/R; a live change to 2R makes the next one take about half as long; removing
// the limit makes it clearly faster. The same for guest receive (a sender in the peer netns,
// busybox nc -l in the guest, which counts the bytes) with a limit set live. A hot-plugged NIC takes its limits at attach. Every tbf is
// gone after detach and after shutdown (tc config and leak snapshot equal to before). With the
// macvtap model the limit sits on the macvtap (what the guest writes, it transmits).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { netnsConfig, tcJson } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { createTestNet, guestNic } from '../hotplug/fixture.js';

const PREFIX = 'vml-rate';
const PORT = 5201;
/** Small enough for TCG, large against the 16 KiB default burst. */
const SIZE = 512 * 1024;
const R1 = 64 * 1024;
const R2 = 128 * 1024;

// A TCP sink in `netns`: per connection, the ms from its first byte to its SIZE-th byte (then it
// closes the connection, which ends the guest's nc).
interface Sink {
  next(): Promise<number>;
  /** Ends the sink and waits for it (no pipe or zombie left for the leak snapshot). */
  stop(): Promise<void>;
}

const SINK = `
const net = require('node:net');
const size = Number(process.argv[1]);
net.createServer((s) => {
  let got = 0, first = 0;
  s.on('data', (d) => {
    if (got === 0) first = performance.now();
    got += d.length;
    if (got >= size) { console.log(JSON.stringify({ ms: performance.now() - first, got })); s.destroy(); }
  });
  s.on('error', () => {});
}).listen(Number(process.argv[2]), () => console.log('{"ready":true}'));
`;

async function startSink(netns: string): Promise<Sink> {
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', netns, process.execPath, '-e', SINK, String(SIZE), String(PORT)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const rl = createInterface({ input: child.stdout! });
  const lines = rl[Symbol.asyncIterator]();
  const read = async (): Promise<{ ready?: boolean; ms?: number; got?: number }> => {
    const line: IteratorResult<string> = await lines.next();
    if (line.done === true) throw new Error('the sink ended');
    return JSON.parse(line.value) as { ready?: boolean; ms?: number; got?: number };
  };
  expect((await read()).ready).toBe(true);
  return {
    next: async () => {
      const r = await read();
      expect(r.got).toBeGreaterThanOrEqual(SIZE);
      return r.ms!;
    },
    stop: async () => {
      child.kill();
      await exited;
      rl.close();
      child.stdout!.destroy();
    },
  };
}

// One transfer of SIZE bytes from the guest; the sink's ms.
async function transfer(vm: Vm, sink: Sink, peer: string): Promise<number> {
  const measured = sink.next();
  const r = await vm.guest.exec(
    `dd if=/dev/zero bs=4096 count=${SIZE / 4096} 2>/dev/null | nc ${peer} ${PORT}`,
    { timeout: 120_000 },
  );
  const ms = await measured;
  expect(r.status).toBe(0);
  return ms;
}

// The netns's qdiscs and filters (its IPv6 link-local addresses finish DAD meanwhile).
function tcConfig(netns: string): unknown {
  const { qdiscs, filters } = netnsConfig(netns) as { qdiscs: unknown; filters: unknown };
  return { qdiscs, filters };
}

// Guest receive: a client in `netns` connects to the guest's `nc -l`, sends SIZE bytes and
// half-closes; the guest's nc exits at EOF, so the ms from connect to the guest's FIN is the
// transfer (and the guest counts the bytes).
const SENDER = `
const net = require('node:net');
const [host, port, size] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const deadline = Date.now() + 10000;
const attempt = () => {
  const s = net.connect(port, host);
  let t0 = 0;
  s.on('connect', () => { t0 = performance.now(); s.end(Buffer.alloc(size)); });
  s.on('data', () => {});
  s.on('end', () => console.log(JSON.stringify({ ms: performance.now() - t0 })));
  s.on('error', (e) => { if (!t0 && Date.now() < deadline) setTimeout(attempt, 100); else { console.error(e.message); process.exit(1); } });
};
attempt();
`;

async function transferToGuest(vm: Vm, netns: string, guestIp: string): Promise<number> {
  // stdin stays open (busybox nc half-closes at stdin EOF): its FIN then means "read it all".
  await vm.guest.check(
    `rm -f /tmp/rx-count; (sleep 600 | nc -l -p ${PORT + 1} | wc -c > /tmp/rx-count) >/dev/null 2>&1 &`,
  );
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        '-e',
        SENDER,
        guestIp,
        String(PORT + 1),
        String(SIZE),
      ],
      { timeout: 120_000 },
      (error, stdout) =>
        error ? reject(new Error('sender failed', { cause: error })) : resolve(stdout),
    );
  });
  const ms = (JSON.parse(out) as { ms: number }).ms;
  await vm.guest.check('for i in $(seq 50); do [ -s /tmp/rx-count ] && break; sleep 0.1; done');
  expect((await vm.guest.check('cat /tmp/rx-count')).trim()).toBe(String(SIZE));
  return ms;
}

// The root tbf of `dev` in `netns` as tc shows it (rate in bytes/s), or undefined.
function tbfRate(netns: string, dev: string): number | undefined {
  const q = tcJson<{ kind: string; root?: boolean; options?: { rate?: number } }[]>(
    '-n',
    netns,
    'qdisc',
    'show',
    'dev',
    dev,
    'root',
  ).find((x) => x.root);
  return q?.kind === 'tbf' ? q.options?.rate : undefined;
}

describe.runIf(prerequisite('NIC rate limits', qemuMissing() ?? rootNetnsMissing()))(
  'NIC rate limits with the default guest',
  () => {
    it('limits a transfer from the guest to R, changes it live, lifts it; all gone after detach/shutdown', async () => {
      const coldNet = createTestNet(PREFIX);
      const hotNet = createTestNet(PREFIX);
      const nets = [coldNet.netns, coldNet.peer, hotNet.netns, hotNet.peer];
      let sink: Sink | undefined;
      try {
        const coldBefore = tcConfig(coldNet.netns);
        const hotBefore = tcConfig(hotNet.netns);
        const leaks = takeSnapshot({ netns: nets });
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          endpoints: [
            {
              id: 'cold0',
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: coldNet.netns,
              rate: { tx: { rate: R1 } },
            },
          ],
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          expect(tbfRate(coldNet.netns, 'eth0')).toBe(R1);
          const nic = vm.endpoints[0]!.hostNic;
          if (nic.kind !== 'tap') throw new Error('expected a tap-backed NIC');
          const ifname = (await guestNic(vm, nic.mac.toLowerCase())).split(' ')[0]!;
          await vm.guest.check(
            `ip link set ${ifname} up && ip addr add ${coldNet.guestCidr} dev ${ifname}`,
          );
          sink = await startSink(coldNet.peer);

          const limited = await transfer(vm, sink, coldNet.peerAddress);
          expect(await vm.setRate('cold0', { tx: { rate: R2 } })).toEqual({
            tx: { rate: R2, burst: 16_384 },
          });
          expect(tbfRate(coldNet.netns, 'eth0')).toBe(R2);
          const faster = await transfer(vm, sink, coldNet.peerAddress);
          expect(await vm.setRate('cold0', { tx: null })).toEqual({});
          expect(tbfRate(coldNet.netns, 'eth0')).toBeUndefined();
          const unlimited = await transfer(vm, sink, coldNet.peerAddress);
          console.log(
            `rate e2e: ${SIZE} bytes from the guest: at ${R1} B/s ${limited.toFixed(0)} ms ` +
              `(size/R ${((SIZE / R1) * 1000).toFixed(0)} ms), at ${R2} B/s ${faster.toFixed(0)} ms ` +
              `(size/R ${((SIZE / R2) * 1000).toFixed(0)} ms), unlimited ${unlimited.toFixed(0)} ms`,
          );
          expect(limited).toBeGreaterThanOrEqual((0.9 * SIZE * 1000) / R1);
          expect(faster).toBeGreaterThanOrEqual((0.9 * SIZE * 1000) / R2);
          expect(faster).toBeLessThan(0.75 * limited);
          expect(unlimited).toBeLessThan((0.5 * SIZE * 1000) / R2);

          // Guest receive: the tap's tbf.
          const guestIp = coldNet.guestCidr.split('/')[0]!;
          await vm.setRate('cold0', { rx: { rate: R2 } });
          const rxLimited = await transferToGuest(vm, coldNet.peer, guestIp);
          await vm.setRate('cold0', { rx: null });
          const rxUnlimited = await transferToGuest(vm, coldNet.peer, guestIp);
          console.log(
            `rate e2e: ${SIZE} bytes to the guest: at ${R2} B/s ${rxLimited.toFixed(0)} ms, ` +
              `unlimited ${rxUnlimited.toFixed(0)} ms`,
          );
          expect(rxLimited).toBeGreaterThanOrEqual((0.9 * SIZE * 1000) / R2);
          expect(rxUnlimited).toBeLessThan((0.5 * SIZE * 1000) / R2);

          // Hot-plug with limits at attach; detach takes them away with the rest.
          await vm.attach(
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: hotNet.netns,
            },
            { id: 'hot0', timeout: 90_000, rate: { rx: { rate: R2 }, tx: { rate: R1 } } },
          );
          expect(tbfRate(hotNet.netns, 'eth0')).toBe(R1);
          expect(await vm.setRate('hot0', { rx: null })).toEqual({
            tx: { rate: R1, burst: 16_384 },
          });
          const detached = await vm.detach('hot0', { timeout: 60_000 });
          expect(detached.status).toBe('removed');
          expect(tcConfig(hotNet.netns)).toEqual(hotBefore);
          await expect(vm.setRate('hot0', { tx: null })).rejects.toMatchObject({
            code: 'NIC_UNKNOWN',
          });
          // The cold NIC keeps a limit into shutdown: cleanup removes it.
          await vm.setRate('cold0', { tx: { rate: R1 } });
        } finally {
          await vm.shutdown({ timeout: 3000 });
        }
        expect(vm.leftovers).toEqual([]);
        expect(tcConfig(coldNet.netns)).toEqual(coldBefore);
        await sink?.stop();
        sink = undefined;
        // /run/netns is the machine's: only our own netns entries count.
        const diff = diffSnapshots(leaks, takeSnapshot({ netns: nets })).filter(
          (line) => !line.startsWith('netns:') || line.includes(PREFIX),
        );
        expect(diff).toEqual([]);
      } finally {
        await sink?.stop();
        coldNet.remove();
        hotNet.remove();
      }
    }, 400_000);

    it('macvtap model: the guest-transmit limit shapes the macvtap; lifted, the next transfer is clearly faster', async () => {
      const net = createTestNet(PREFIX);
      let sink: Sink | undefined;
      try {
        const before = tcConfig(net.netns);
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          endpoints: [
            {
              id: 'mvt0',
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'macvtap' },
              netns: net.netns,
              rate: { tx: { rate: R2 } },
            },
          ],
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          const nic = vm.endpoints[0]!.hostNic;
          if (nic.kind !== 'tap') throw new Error('expected a macvtap-backed NIC');
          expect(tbfRate(net.netns, nic.ifname)).toBe(R2);
          await expect(vm.setRate('mvt0', { rx: { rate: R2 } })).rejects.toThrow(/guest receive/);
          const ifname = (await guestNic(vm, nic.mac.toLowerCase())).split(' ')[0]!;
          await vm.guest.check(
            `ip link set ${ifname} up && ip addr add ${net.guestCidr} dev ${ifname}`,
          );
          sink = await startSink(net.peer);
          const limited = await transfer(vm, sink, net.peerAddress);
          await vm.setRate('mvt0', { tx: null });
          const unlimited = await transfer(vm, sink, net.peerAddress);
          console.log(
            `rate e2e (macvtap): ${SIZE} bytes at ${R2} B/s ${limited.toFixed(0)} ms ` +
              `(size/R ${((SIZE / R2) * 1000).toFixed(0)} ms), unlimited ${unlimited.toFixed(0)} ms`,
          );
          expect(limited).toBeGreaterThanOrEqual((0.9 * SIZE * 1000) / R2);
          expect(unlimited).toBeLessThan((0.5 * SIZE * 1000) / R2);
          await vm.setRate('mvt0', { tx: { rate: R1 } });
        } finally {
          await vm.shutdown({ timeout: 3000 });
        }
        expect(vm.leftovers).toEqual([]);
        expect(tcConfig(net.netns)).toEqual(before);
      } finally {
        await sink?.stop();
        net.remove();
      }
    }, 300_000);
  },
);
