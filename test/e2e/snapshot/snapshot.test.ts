// Snapshots end to end: a VM with a tcfilter veth NIC and a read-only drive is booted, given an
// address, saved and shut down; restored into a new netns it pings its new peer at once and
// reads its drive (caches dropped, so the read goes through the new QEMU); five clones of the
// one snapshot, each in its own netns, all ping; and every refused restore is its typed error
// with nothing left behind (netns, links, fds, children, run dirs).
import {
  chmodSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  copyFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { RestoreMismatchError } from '../../../launcher/snapshot/errors.js';
import { restore } from '../../../launcher/snapshot/restore.js';
import type { RestoreOptions } from '../../../launcher/snapshot/restore-options.js';
import type { Vm } from '../../../launcher/vm.js';
import { ValidationError } from '../../../core/index.js';
import {
  addVethPeer,
  createTestNet,
  guestNicByMac,
  guestAddress,
  pingFromGuest,
  subnet,
  type TestNet,
} from '../../helpers/coldplug-net.js';
import { defaultGuest, HARNESS_CMDLINE } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from '../coldplug/prereq.js';
import { drivesMissing, makeExt4 } from '../drives/fixture.js';
import { privateRuntimeRoot, runDirs } from './run-dirs.js';

privateRuntimeRoot('snapshot');

const SUB = subnet(1);
const MEMORY_MIB = 256;
const CLONES = 5;
const veth = { kind: 'veth' as const, name: 'eth0', interworking: 'tcfilter' as const };

// A netns pair with the CNI-style veth eth0 whose peer holds SUB.peerIp.
function netWithVeth(tag: string): TestNet {
  const net = createTestNet(tag);
  try {
    addVethPeer(net, 'eth0', SUB, 1500);
  } catch (error) {
    net.remove();
    throw error;
  }
  return net;
}

// The guest reads the drive's file from the disk itself, not from its page cache.
async function readDrive(vm: Vm): Promise<string> {
  return vm.guest.check('sync; echo 3 > /proc/sys/vm/drop_caches; cat /mnt/data/hello.txt');
}

async function pingPeer(vm: Vm): Promise<number> {
  return pingFromGuest(vm, SUB.peerIp, 3);
}

type Subnet = ReturnType<typeof subnet>;
type PairWith = (tag: string, name: string, sub: Subnet) => TestNet;

// Makes netns pairs whose veth `name` faces a peer on `sub`, each kept in `nets` for removal.
function netPairs(nets: TestNet[]): PairWith {
  return (tag, name, sub) => {
    const net = createTestNet(tag);
    nets.push(net);
    addVethPeer(net, name, sub, 1500);
    return net;
  };
}

// A booted VM (net0 on eth0 in netns `a`) with NIC hp0 hot-plugged from eth1 in netns `b`,
// addressed on `hot` in the guest; the VM is kept in `vms` for the test's cleanup.
async function withHotNic(
  guest: { kernel: string; initrd: string },
  pairWith: PairWith,
  vms: Vm[],
  tag: string,
  hot: Subnet,
) {
  const a = pairWith(`${tag}a`, 'eth0', SUB);
  const b = pairWith(`${tag}b`, 'eth1', hot);
  const vm = await launch({
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: HARNESS_CMDLINE,
    accel: 'tcg',
    memoryMiB: MEMORY_MIB,
    endpoints: [{ endpoint: veth, netns: a.ns, id: 'net0' }],
  });
  vms.push(vm);
  await vm.guest.waitReady({ timeout: 120_000 });
  const nic = await vm.attach(
    { endpoint: { ...veth, name: 'eth1' }, netns: b.ns },
    { id: 'hp0', timeout: 120_000 },
  );
  await guestAddress(vm, (await guestNicByMac(vm, nic.mac)).ifname, hot.guestCidr);
  return { vm, hot: nic, a, b };
}

describe.runIf(prerequisite('snapshot', coldplugMissing() ?? drivesMissing()))('snapshots', () => {
  it('saves a VM, restores it into a new netns and clones it five times; refusals leave nothing', async () => {
    const guest = await defaultGuest();
    const dir = mkdtempSync(join(tmpdir(), 'vml-snapshot-e2e-'));
    const nets: TestNet[] = [];
    const vms: Vm[] = [];
    try {
      const image = makeExt4(join(dir, 'data.img'), { 'hello.txt': 'hello from the drive\n' });
      const state = join(dir, 'vm.state');
      // --- the VM that is saved -------------------------------------------------------
      const first = netWithVeth('snap0');
      nets.push(first);
      const vm = await launch({
        kernel: guest.kernel,
        initrd: guest.initrd,
        cmdline: HARNESS_CMDLINE,
        accel: 'tcg',
        memoryMiB: MEMORY_MIB,
        endpoints: [{ endpoint: veth, netns: first.ns, id: 'net0' }],
        drives: [{ path: image, id: 'data', readOnly: true, mount: '/mnt/data' }],
      });
      vms.push(vm);
      await vm.guest.waitReady({ timeout: 120_000 });
      const mac = (vm.endpoints[0]!.hostNic as { mac: string }).mac;
      const nic = await guestNicByMac(vm, mac);
      await guestAddress(vm, nic.ifname, SUB.guestCidr);
      expect(await pingPeer(vm)).toBe(3);
      expect(await readDrive(vm)).toBe('hello from the drive\n');
      const progress: string[] = [];
      const saved = await vm.snapshot(state, {
        then: 'shutdown',
        timeoutMs: 300_000,
        onProgress: (p) => progress.push(p.status),
      });
      console.log(
        `snapshot: ${saved.bytes} bytes in ${saved.saveMs.toFixed(0)} ms (${MEMORY_MIB} MiB guest)`,
      );
      expect(progress.at(-1)).toBe('completed');
      expect(statSync(state).mode & 0o777).toBe(0o600);
      expect(statSync(saved.manifestPath).mode & 0o777).toBe(0o600);
      expect(saved.manifest.nics).toMatchObject([{ id: 'net0', mac, endpoint: veth }]);
      expect(saved.manifest.drives).toMatchObject([{ id: 'data', spec: { path: image } }]);
      expect(vm.state).toBe('exited');
      first.remove();

      // --- refused restores: typed errors, nothing left -------------------------------
      await expectRefusals(dir, state, netWithVeth);

      // --- restored into a new netns: pings its new peer at once, reads its drive -----
      const second = netWithVeth('snap1');
      nets.push(second);
      const started = performance.now();
      const restored = await restore(state, { netns: second.ns, timeoutMs: 300_000 });
      vms.push(restored);
      expect(await pingFromGuest(restored, SUB.peerIp, 1)).toBe(1);
      console.log(`restore to first ping: ${(performance.now() - started).toFixed(0)} ms`);
      expect(await readDrive(restored)).toBe('hello from the drive\n');
      // The guest kept its MAC although the new veth has another one.
      expect((await guestNicByMac(restored, mac)).ifname).toBe(nic.ifname);
      await restored.shutdown();
      expect(restored.leftovers).toEqual([]);
      second.remove();

      // --- five clones at once, each in its own netns, all pinging --------------------
      const cloneNets = Array.from({ length: CLONES }, (_, i) => netWithVeth(`clone${i}`));
      nets.push(...cloneNets);
      const clones = await Promise.all(
        cloneNets.map((net) => restore(state, { netns: net.ns, timeoutMs: 300_000 })),
      );
      vms.push(...clones);
      const replies = await Promise.all(clones.map((c) => pingPeer(c)));
      expect(replies).toEqual(clones.map(() => 3));
      const rss = clones.map((c) => rssMiB(c.pid));
      console.log(`clone QEMU RSS (MiB): ${rss.join(' ')}`);
      await Promise.all(clones.map((c) => c.shutdown()));
      for (const c of clones) expect(c.leftovers).toEqual([]);
    } finally {
      await Promise.all(vms.map((v) => v.kill()));
      for (const net of nets) net.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);

  it('a NIC hot-plugged before the save is back on its root port and pings through its new endpoint', async () => {
    const guest = await defaultGuest();
    const dir = mkdtempSync(join(tmpdir(), 'vml-snapshot-hp-'));
    const nets: TestNet[] = [];
    const vms: Vm[] = [];
    const HOT = subnet(2);
    const pairWith = netPairs(nets);
    try {
      const state = join(dir, 'vm.state');
      const { vm, hot, a, b } = await withHotNic(guest, pairWith, vms, 'hp', HOT);
      expect(await pingFromGuest(vm, HOT.peerIp, 3)).toBe(3);
      const saved = await vm.snapshot(state, { then: 'shutdown', timeoutMs: 300_000 });
      expect(saved.manifest.nics).toMatchObject([
        { id: 'net0', hotplugged: false },
        { id: 'hp0', mac: hot.mac, hotplugged: true, bus: hot.bus },
      ]);
      a.remove();
      b.remove();
      const a2 = pairWith('hpa2', 'eth0', SUB);
      const b2 = pairWith('hpb2', 'eth1', HOT);
      const restored = await restore(state, {
        netns: a2.ns,
        nics: { hp0: { netns: b2.ns } },
        timeoutMs: 300_000,
      });
      vms.push(restored);
      expect(await pingFromGuest(restored, HOT.peerIp, 3)).toBe(3);
      // It sits on the root port it was hot-plugged on, which hot plug no longer offers.
      const device = restored.command.argv.find((w) => w.includes('id=nic-hp0'));
      expect(device).toContain(`bus=${hot.bus}`);
      expect(restored.command.hotplugBuses).not.toContain(hot.bus);
      // The restored VM saves again, the NIC still recorded on its port.
      const again = await restored.snapshot(join(dir, 'again.state'), { then: 'shutdown' });
      expect(again.manifest.nics[1]).toMatchObject({ id: 'hp0', hotplugged: true, bus: hot.bus });
      expect(restored.leftovers).toEqual([]);
    } finally {
      await Promise.all(vms.map((v) => v.kill()));
      for (const net of nets) net.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);

  it('a restored hot-plugged NIC detaches like any hot-plugged one, leaving nothing behind', async () => {
    const guest = await defaultGuest();
    const dir = mkdtempSync(join(tmpdir(), 'vml-snapshot-hpd-'));
    const nets: TestNet[] = [];
    const vms: Vm[] = [];
    const HOT = subnet(3);
    const pairWith = netPairs(nets);
    try {
      const state = join(dir, 'vm.state');
      const { vm, hot, a, b } = await withHotNic(guest, pairWith, vms, 'hd', HOT);
      await vm.snapshot(state, { then: 'shutdown', timeoutMs: 300_000 });
      a.remove();
      b.remove();
      const a2 = pairWith('hda2', 'eth0', SUB);
      const b2 = pairWith('hdb2', 'eth1', HOT);
      const snap = () =>
        takeSnapshot({
          netns: [b2.ns, b2.peerNs],
          netnsFilter: (name) => name === b2.ns || name === b2.peerNs,
        });
      const before = snap();
      const restored = await restore(state, {
        netns: a2.ns,
        nics: { hp0: { netns: b2.ns } },
        timeoutMs: 300_000,
      });
      vms.push(restored);
      expect(await pingFromGuest(restored, HOT.peerIp, 3)).toBe(3);
      expect(restored.hotplugged.map((n) => [n.id, n.bus])).toEqual([['hp0', hot.bus]]);
      const result = await restored.detach('hp0', { timeout: 120_000 });
      expect(result.status).toBe('removed');
      expect(restored.hotplugged).toEqual([]);
      const macs = await restored.guest.check('cat /sys/class/net/*/address');
      expect(macs.toLowerCase()).not.toContain(hot.mac.toLowerCase());
      // Its host side is gone now, not at shutdown.
      const afterDetach = snap();
      expect(afterDetach.links.get(b2.ns)).toEqual(before.links.get(b2.ns));
      // A snapshot now records no hp0.
      const again = await restored.snapshot(join(dir, 'again.state'), { then: 'resume' });
      expect(again.manifest.nics.map((n) => n.id)).toEqual(['net0']);
      expect(again.manifest.devices.some((d) => d.id.endsWith('hp0'))).toBe(false);
      await restored.shutdown();
      expect(restored.leftovers).toEqual([]);
      expect(diffSnapshots(before, snap())).toEqual([]);
    } finally {
      await Promise.all(vms.map((v) => v.kill()));
      for (const net of nets) net.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

// Each case: the error's class and code, and the same netns, links, fds, children and run dirs
// after as before.
async function expectRefusals(
  dir: string,
  state: string,
  netWithVeth: (tag: string) => TestNet,
): Promise<void> {
  const net = netWithVeth('snapref');
  try {
    const manifest = JSON.parse(readFileSync(`${state}.json`, 'utf8')) as Record<string, unknown>;
    // A copy of the snapshot whose manifest is edited (the state file is a hard link).
    let n = 0;
    const edited = (edit: (m: Record<string, unknown>) => void): string => {
      const copy = join(dir, `edited${n++}.state`);
      linkSync(state, copy);
      const m = structuredClone(manifest);
      edit(m);
      writeFileSync(`${copy}.json`, JSON.stringify(m));
      return copy;
    };
    const fakeQemu = join(dir, 'fake-qemu');
    writeFileSync(fakeQemu, '#!/bin/sh\necho "QEMU emulator version 7.1.0 (fake)"\n');
    chmodSync(fakeQemu, 0o755);
    const truncated = join(dir, 'short.state');
    copyFileSync(state, truncated);
    truncateSync(truncated, 4096);
    copyFileSync(`${state}.json`, `${truncated}.json`);
    const base: RestoreOptions = { netns: net.ns };
    const cases: Array<[string, string, RestoreOptions, string]> = [
      ['other QEMU', state, { qemu: fakeQemu }, 'QEMU_VERSION'],
      ['other machine', state, { template: 'microvm' }, 'MACHINE'],
      ['other memory', state, { memoryMiB: MEMORY_MIB * 2 }, 'MEMORY'],
      ['other CPUs', state, { cpus: 2 }, 'CPUS'],
      ['unknown NIC', state, { nics: { nope: {} } }, 'NIC_UNKNOWN'],
      [
        'other MAC',
        state,
        { nics: { net0: { endpoint: { ...veth, mac: '02:00:00:00:00:01' } } } },
        'NIC_MAC',
      ],
      ['short state file', truncated, {}, 'STATE_FILE'],
      [
        'missing drive',
        edited((m) => ((m.drives as Array<{ spec: { path: string } }>)[0]!.spec.path += '.gone')),
        {},
        'DRIVE_MISSING',
      ],
      ['other device set', edited((m) => (m.devices as unknown[]).pop()), {}, 'DEVICE_SET'],
      ['manifest version', edited((m) => (m.version = 3)), {}, 'MANIFEST_VERSION'],
      ['unknown field', edited((m) => (m.extra = true)), {}, 'MANIFEST_INVALID'],
      ['no manifest', join(dir, 'none.state'), {}, 'MANIFEST_MISSING'],
    ];
    const snap = () =>
      takeSnapshot({
        netns: [net.ns, net.peerNs],
        netnsFilter: (name) => name === net.ns || name === net.peerNs,
      });
    const check = async (what: string, path: string, options: RestoreOptions, code: string) => {
      const before = snap();
      const dirsBefore = runDirs();
      const error = await restore(path, { ...base, ...options }).then(
        async (vm) => {
          await vm.kill();
          return new Error(`${what}: restore succeeded`);
        },
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(ValidationError);
      expect(error, what).toMatchObject({ code });
      expect(diffSnapshots(before, snap()), what).toEqual([]);
      expect(
        runDirs().filter((d) => !dirsBefore.includes(d)),
        what,
      ).toEqual([]);
    };
    for (const [what, path, options, code] of cases) await check(what, path, options, code);
    // A drive whose identity differs from the saved one (as after a write) is refused too.
    const changed = edited((m) => {
      const d = (m.drives as Array<{ identity: { mtimeMs: number } }>)[0]!;
      d.identity.mtimeMs -= 5000;
    });
    await check('changed drive', changed, {}, 'DRIVE_CHANGED');
    // The typed errors are the snapshot's own class (a ValidationError subclass).
    const e = await restore(state, { ...base, memoryMiB: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RestoreMismatchError);
  } finally {
    net.remove();
  }
}
