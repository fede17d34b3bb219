// QEMU's jail, on by default (docs/confinement.md), seen from the host while VMs run: a uid of
// its own (two VMs at once: two uids), a mount namespace other than ours, no capabilities,
// no_new_privs, seccomp filter mode, a cgroup of its own that is gone after shutdown; the guest
// still pings through a veth. Then, asked through QMP, the jailed QEMU cannot open a root-only
// file root can read, cannot create a file in the host's world-writable /tmp, but can write in
// its own jail directory (the control that shows the command itself works).
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import {
  addVethPeer,
  expectPingsBothWays,
  guestNicByMac,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { defaultGuest } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from '../coldplug/prereq.js';

interface Jailed {
  uid: number;
  cgroupDirs: string[];
}

// Reads /proc/PID and checks every property of the jail; returns its uid and cgroup dirs.
function expectJailed(vm: Vm): Jailed {
  const status = readFileSync(`/proc/${vm.pid}/status`, 'utf8');
  const field = (name: string): string => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))![1]!;
  const uids = field('Uid').split(/\s+/).map(Number);
  expect(new Set(uids).size).toBe(1);
  expect(uids[0]).toBeGreaterThan(0);
  expect(field('Gid').split(/\s+/).map(Number)[0]).toBeGreaterThan(0);
  expect(field('CapEff')).toBe('0000000000000000');
  expect(field('CapPrm')).toBe('0000000000000000');
  expect(field('NoNewPrivs')).toBe('1');
  expect(field('Seccomp')).toBe('2');
  expect(readlinkSync(`/proc/${vm.pid}/ns/mnt`)).not.toBe(readlinkSync('/proc/self/ns/mnt'));
  // Its own cgroup: memory and pids (v1), or one v2 group, named after the VM.
  const groups = readFileSync(`/proc/${vm.pid}/cgroup`, 'utf8').split('\n');
  const own = groups.filter((l) => l.endsWith(`/vmlaunch-${vm.id}`));
  expect(own.length).toBeGreaterThanOrEqual(1);
  const cgroupDirs = own.map((line) => {
    const [, ctrls, path] = line.match(/^\d+:([^:]*):(.*)$/)!;
    return ctrls === ''
      ? join('/sys/fs/cgroup/unified', path!)
      : join('/sys/fs/cgroup', ctrls!, path!);
  });
  for (const dir of cgroupDirs) {
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(vm.pid));
  }
  return { uid: uids[0]!, cgroupDirs };
}

describe.runIf(prerequisite('QEMU jail e2e', coldplugMissing()))('QEMU in its jail', () => {
  it('two VMs at once: each its own uid, mount ns, no caps, no_new_privs, seccomp, cgroup; the guest pings', async () => {
    const guest = await defaultGuest();
    // The second VM stays paused: it only has to exist, jailed, while the first one runs.
    const other = await launch({ kernel: guest.kernel, initrd: guest.initrd, paused: true });
    let otherJail: Jailed | undefined;
    let firstJail: Jailed | undefined;
    try {
      otherJail = expectJailed(other);
      await withTestNet('jail', async (net) => {
        const sub = subnet(9);
        const mac = addVethPeer(net, 'eth0', sub, 1500);
        await withColdplugVmIn(
          net,
          {
            unchanged: ['eth0'],
            endpoints: [
              { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns: net.ns },
            ],
          },
          async (vm) => {
            firstJail = expectJailed(vm);
            expect(firstJail.uid).not.toBe(otherJail!.uid);
            const nic = await guestNicByMac(vm, mac);
            await expectPingsBothWays(vm, nic.ifname, sub, net.peerNs);
          },
        );
      });
    } finally {
      await other.shutdown({ timeout: 0 });
    }
    // Undone with the VMs: no cgroup left.
    for (const dir of [...firstJail!.cgroupDirs, ...otherJail.cgroupDirs]) {
      expect(existsSync(dir)).toBe(false);
    }
  }, 240_000);

  it('cannot open a root-only file or write the host tree; writes only in its jail directory', async () => {
    const guest = await defaultGuest();
    const dir = mkdtempSync('/tmp/vml-jail-');
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'root only\n', { mode: 0o600 });
    // A directory anyone may write (like /tmp): only the read-only mount stops the jail's uid.
    const openDir = mkdtempSync('/tmp/vml-jail-w-');
    chmodSync(openDir, 0o1777);
    const vm = await launch({ kernel: guest.kernel, initrd: guest.initrd, paused: true });
    try {
      expectJailed(vm);
      // Root can read it; QEMU, asked to open it as a block node, cannot.
      expect(readFileSync(secret, 'utf8')).toBe('root only\n');
      const refused = await vm.qmp
        .execute('blockdev-add', { driver: 'file', filename: secret, 'node-name': 'stolen' })
        .then(
          () => undefined,
          (error: unknown) => error as Error,
        );
      expect(refused?.message).toMatch(/Permission denied/);
      // memsave opens (creates) a file: refused on the read-only host tree...
      const hostTarget = join(openDir, 'mem.bin');
      const onHost = await vm.qmp.execute('human-monitor-command', {
        'command-line': `memsave 0 4096 "${hostTarget}"`,
      });
      expect(String(onHost)).toMatch(/Read-only file system/);
      expect(existsSync(hostTarget)).toBe(false);
      // ...and done in its jail directory (its working directory), so the command works.
      const inJail = await vm.qmp.execute('human-monitor-command', {
        'command-line': 'memsave 0 4096 "mem.bin"',
      });
      expect(String(inJail)).toBe('');
      expect(readFileSync(join(vm.runDir!, 'jail', 'mem.bin')).length).toBe(4096);
    } finally {
      await vm.shutdown({ timeout: 0 });
      rmSync(dir, { recursive: true, force: true });
      rmSync(openDir, { recursive: true, force: true });
    }
  }, 120_000);
});
