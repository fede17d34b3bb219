// Snapshots of a VM with shared guest RAM end to end: the RAM goes to a sparse image beside a
// state file of the devices alone; a restore into a new netns pings its new peer and still
// holds what the guest had in RAM (a file in its initramfs); two clones restored at once each
// write their own RAM without touching the image (its hash is unchanged, a later restore sees
// the saved content); a missing or wrong-sized image is refused before anything is made.
import { createHash } from 'node:crypto';
import {
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { launch } from '../../../launcher/launch.js';
import { RestoreMismatchError } from '../../../launcher/snapshot/errors.js';
import { restore } from '../../../launcher/snapshot/restore.js';
import type { Vm } from '../../../launcher/vm.js';
import {
  addVethPeer,
  createTestNet,
  guestAddress,
  guestNicByMac,
  pingFromGuest,
  subnet,
  type TestNet,
} from '../../helpers/coldplug-net.js';
import { defaultGuest, HARNESS_CMDLINE } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from '../coldplug/prereq.js';
import { privateRuntimeRoot, runDirs } from './run-dirs.js';

privateRuntimeRoot('snapram');

const SUB = subnet(2);
const MEMORY_MIB = 256;
const veth = { kind: 'veth' as const, name: 'eth0', interworking: 'tcfilter' as const };

function netWithVeth(tag: string, nets: TestNet[]): TestNet {
  const net = createTestNet(tag);
  nets.push(net);
  addVethPeer(net, 'eth0', SUB, 1500);
  return net;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

// The marker lives in the guest's initramfs (tmpfs): in its RAM, nowhere else.
const readMarker = (vm: Vm): Promise<string> => vm.guest.check('cat /run/marker');

describe.runIf(prerequisite('snapshot RAM image', coldplugMissing()))('snapshot RAM image', () => {
  it('saves shared RAM to an image; restores and clones map private copies of it', async () => {
    const guest = await defaultGuest();
    const dir = mkdtempSync(join(tmpdir(), 'vml-snapram-e2e-'));
    const nets: TestNet[] = [];
    const vms: Vm[] = [];
    try {
      const state = join(dir, 'vm.state');
      const first = netWithVeth('sram0', nets);
      const vm = await launch({
        kernel: guest.kernel,
        initrd: guest.initrd,
        cmdline: HARNESS_CMDLINE,
        accel: 'tcg',
        memoryMiB: MEMORY_MIB,
        sharedMemory: true,
        endpoints: [{ endpoint: veth, netns: first.ns, id: 'net0' }],
      });
      vms.push(vm);
      await vm.guest.waitReady({ timeout: 120_000 });
      const mac = (vm.endpoints[0]!.hostNic as { mac: string }).mac;
      const nic = await guestNicByMac(vm, mac);
      await guestAddress(vm, nic.ifname, SUB.guestCidr);
      expect(await pingFromGuest(vm, SUB.peerIp, 1)).toBe(1);
      await vm.guest.check('mkdir -p /run && echo saved-in-ram > /run/marker');
      const saved = await vm.snapshot(state, { then: 'shutdown', timeoutMs: 300_000 });
      const image = `${state}.ram`;
      console.log(
        `RAM image snapshot: state ${saved.bytes} bytes, image ${saved.memoryImage?.allocatedBytes} bytes allocated, ${saved.saveMs.toFixed(0)} ms`,
      );
      expect(saved.memoryImage?.path).toBe(image);
      expect(saved.manifest.state.memory).toEqual({
        file: 'vm.state.ram',
        bytes: MEMORY_MIB * 1024 * 1024,
      });
      expect(statSync(image).size).toBe(MEMORY_MIB * 1024 * 1024);
      expect(statSync(image).mode & 0o777).toBe(0o600);
      // The devices alone: a state file far smaller than the guest's RAM, whose pages are in
      // the image (sparse: the untouched ones take no space).
      expect(saved.bytes).toBeLessThan(8 * 1024 * 1024);
      expect(saved.memoryImage!.allocatedBytes).toBeLessThan(MEMORY_MIB * 1024 * 1024);
      expect(saved.memoryImage!.allocatedBytes).toBeGreaterThan(8 * 1024 * 1024);
      const imageHash = sha256(image);
      first.remove();

      // --- refused before anything is made: a wrong-sized image, a missing one -----------
      await expectRefusals(dir, state);
      await expectUnwound(dir, state, nets);

      // --- restored into a new netns: pings at once, still holds what it had in RAM -------
      const second = netWithVeth('sram1', nets);
      const restored = await restore(state, { netns: second.ns, timeoutMs: 300_000 });
      vms.push(restored);
      expect(await pingFromGuest(restored, SUB.peerIp, 1)).toBe(1);
      expect(await readMarker(restored)).toBe('saved-in-ram\n');
      await restored.guest.check('echo written-after-restore > /run/marker');

      // --- a snapshot of the restored VM (its RAM is the private copy's file) -------------
      const state2 = join(dir, 'again.state');
      const saved2 = await restored.snapshot(state2, { then: 'shutdown', timeoutMs: 300_000 });
      expect(saved2.manifest.state.memory?.file).toBe('again.state.ram');
      expect(restored.leftovers).toEqual([]);
      second.remove();

      // --- two clones at once: each sees the saved RAM, writes only its own ---------------
      const cloneNets = [netWithVeth('sram2', nets), netWithVeth('sram3', nets)];
      const clones = await Promise.all(
        cloneNets.map((net) => restore(state, { netns: net.ns, timeoutMs: 300_000 })),
      );
      vms.push(...clones);
      expect(await Promise.all(clones.map((c) => readMarker(c)))).toEqual([
        'saved-in-ram\n',
        'saved-in-ram\n',
      ]);
      await Promise.all(clones.map((c, i) => c.guest.check(`echo clone-${i} > /run/marker`)));
      expect(await Promise.all(clones.map((c) => readMarker(c)))).toEqual([
        'clone-0\n',
        'clone-1\n',
      ]);
      expect(await Promise.all(clones.map((c) => pingFromGuest(c, SUB.peerIp, 1)))).toEqual([1, 1]);
      await Promise.all(clones.map((c) => c.shutdown()));
      for (const c of clones) expect(c.leftovers).toEqual([]);
      // No restore wrote the image: every one mapped a copy of its own.
      expect(sha256(image)).toBe(imageHash);

      // --- the snapshot of the restored VM holds what was written after the restore -------
      const third = netWithVeth('sram4', nets);
      const fromSecond = await restore(state2, { netns: third.ns, timeoutMs: 300_000 });
      vms.push(fromSecond);
      expect(await readMarker(fromSecond)).toBe('written-after-restore\n');
      expect(await pingFromGuest(fromSecond, SUB.peerIp, 1)).toBe(1);
      await fromSecond.shutdown();
      expect(fromSecond.leftovers).toEqual([]);
    } finally {
      await Promise.all(vms.map((v) => v.kill()));
      for (const net of nets) net.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

// Copies of the snapshot whose manifest names another RAM image: one of the wrong size, one
// that does not exist. Each restore is refused before anything is made.
async function expectRefusals(dir: string, state: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(`${state}.json`, 'utf8')) as {
    state: { memory: { file: string } };
  };
  const withImage = (name: string, file: string): string => {
    const copy = join(dir, name);
    linkSync(state, copy);
    const m = structuredClone(manifest);
    m.state.memory.file = file;
    writeFileSync(`${copy}.json`, JSON.stringify(m));
    return copy;
  };
  writeFileSync(join(dir, 'short.ram'), 'x');
  const cases = [withImage('short.state', 'short.ram'), withImage('absent.state', 'absent.ram')];
  const dirsBefore = runDirs();
  const before = takeSnapshot();
  for (const copy of cases) {
    const error = await restore(copy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreMismatchError);
    expect(error).toMatchObject({ code: 'STATE_FILE' });
  }
  expect(diffSnapshots(before, takeSnapshot())).toEqual([]);
  expect(runDirs()).toEqual(dirsBefore);
  // No copy of the image was started beside it.
  expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
}

// Restores that fail once the image's copy has started: one aborted as soon as the copy is
// under way (the copy is stopped and waited for before its fds close), one whose state file is
// garbage of the right size (QEMU refuses the load, after the copy). Each is undone whole.
async function expectUnwound(dir: string, state: string, nets: TestNet[]): Promise<void> {
  const garbage = join(dir, 'garbage.state');
  writeFileSync(garbage, Buffer.alloc(statSync(state).size, 0x5a));
  linkSync(`${state}.json`, `${garbage}.json`);
  linkSync(`${state}.ram`, `${garbage}.ram`);
  const net = netWithVeth('sram-u', nets);
  const dirsBefore = runDirs();
  const before = takeSnapshot();
  const controller = new AbortController();
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        if ((JSON.parse(line) as { step?: string }).step === 'memory-copy') controller.abort();
      },
    },
  );
  const aborted = await restore(state, { netns: net.ns, logger, signal: controller.signal }).catch(
    (e: unknown) => e,
  );
  expect(controller.signal.aborted).toBe(true);
  expect(aborted).toMatchObject({ code: 'ABORTED' });
  // At once: the copy's own fds are closed before the restore rejects, not some time later.
  expect(diffSnapshots(before, takeSnapshot())).toEqual([]);
  const refused = await restore(garbage, { netns: net.ns }).catch((e: unknown) => e);
  expect(refused).toMatchObject({ step: 'load-state' });
  expect(diffSnapshots(before, takeSnapshot())).toEqual([]);
  expect(runDirs()).toEqual(dirsBefore);
  expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  for (const f of ['', '.json', '.ram']) rmSync(`${garbage}${f}`);
}
