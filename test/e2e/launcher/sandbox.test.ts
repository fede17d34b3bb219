// docs/faults.md T29 on the default guest: QEMU under its full seccomp sandbox and as nobody
// boots; the kernel's own view (/proc/<pid>/status) shows the dropped uid, no capabilities and
// seccomp filter mode; QEMU can no longer open /dev/net/tun itself, yet a veth hot-plugged with
// fd passing reaches the guest, carries a ping, and unplugs; shutdown leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { QmpCommandError } from '../../../launcher/qmp/index.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot, type LeakSnapshot } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import {
  createTestNet,
  guestNic,
  guestPing,
  qemuFdCount,
  type TestNet,
} from '../hotplug/fixture.js';

const FULL_DENY = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

// The default guest copied where nobody can read it (it lives under root's 0700 home).
function guestCopy(
  kernel: string,
  initrd: string,
): { kernel: string; initrd: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vml-sandbox-guest-'));
  chmodSync(dir, 0o755);
  copyFileSync(kernel, join(dir, 'vmlinuz'));
  copyFileSync(initrd, join(dir, 'initrd.img'));
  return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), dir };
}

// One field of /proc/<pid>/status, e.g. 'Uid' -> '65534\t65534\t65534\t65534'.
function statusField(pid: number, field: string): string | undefined {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
}

// The leak snapshot over this test's own netns only (other suites share the vml-hp prefix).
function snapshot(net: TestNet): LeakSnapshot {
  return takeSnapshot({
    netns: [net.netns, net.peer],
    netnsFilter: (n) => n.startsWith(net.netns),
  });
}

// Whether a link of that name exists in our (host) netns; only read, never changed here.
function hostLinkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(prerequisite('sandboxed QEMU as nobody', qemuMissing() ?? rootNetnsMissing()))(
  'QEMU under its seccomp sandbox and as nobody (T29)',
  () => {
    it('boots, cannot open /dev/net/tun, hot-plugs a veth by fd passing, and leaves nothing', async () => {
      const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
      const image = await defaultGuest();
      const guest = guestCopy(image.kernel, image.initrd);
      const net = createTestNet();
      const privateDir = mkdtempSync(join(tmpdir(), 'vml-sandbox-log-'));
      const probeTap = `vmlsbx${randomBytes(3).toString('hex')}`;
      try {
        const before = snapshot(net);
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          template: 'q35',
          runAs: { user: 'nobody' },
          // Written by vmlaunch, not by QEMU: a root-only directory is fine.
          consoleLog: join(privateDir, 'console.log'),
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          expect(readFileSync(join(privateDir, 'console.log'), 'utf8')).toContain('Linux version');

          // The kernel's view of the QEMU process: our direct child (never daemonized), nobody
          // in every uid slot, no capabilities, no_new_privs, seccomp filter mode.
          expect(statusField(vm.pid, 'PPid')).toBe(String(process.pid));
          expect(statusField(vm.pid, 'Uid')!.split(/\s+/)).toEqual(Array(4).fill(String(nobody)));
          expect(statusField(vm.pid, 'CapEff')).toMatch(/^0+$/);
          expect(statusField(vm.pid, 'NoNewPrivs')).toBe('1');
          expect(statusField(vm.pid, 'Seccomp')).toBe('2');
          const argv = readFileSync(`/proc/${vm.pid}/cmdline`, 'utf8').split('\0');
          expect(argv[argv.indexOf('-sandbox') + 1]).toBe(FULL_DENY);
          expect(argv).not.toContain('-daemonize');
          expect(argv).not.toContain('-runas');

          // QEMU itself cannot open /dev/net/tun any more: a tap by name fails, QEMU lives on.
          // In its jail (the default) the node is not even there; unjailed, the uid stops it.
          const refused = await vm.qmp
            .netdevAdd({
              type: 'tap',
              id: 'nofd0',
              ifname: probeTap,
              script: 'no',
              downscript: 'no',
            })
            .catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(QmpCommandError);
          expect((refused as Error).message).toMatch(
            /\/dev\/net\/tun.*(Permission denied|No such file or directory)/,
          );
          expect(hostLinkExists(probeTap)).toBe(false);
          expect(vm.state).toBe('running');

          // Hot-plug with fd passing still works: the guest sees the NIC and pings through it.
          const fdsBefore = qemuFdCount(vm);
          const nic = await vm.attach(
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: net.netns,
            },
            { timeout: 60_000 },
          );
          console.log(`sandboxed attach: ${JSON.stringify(nic.timings)}`);
          expect(await guestNic(vm, nic.mac)).toBe(`${nic.guestIfname} 1400`);
          const ping = await guestPing(vm, nic.guestIfname!, net.guestCidr, net.peerAddress);
          expect(ping.status, ping.output).toBe(0);
          expect(await vm.detach(nic.id, { timeout: 20_000 })).toMatchObject({ status: 'removed' });
          expect(await guestNic(vm, nic.mac)).toBe('');
          expect(qemuFdCount(vm)).toBe(fdsBefore);
          expect(vm.state).toBe('running');
        } finally {
          await vm.shutdown({ timeout: 5000 });
        }
        expect(vm.leftovers).toEqual([]);
        expect(diffSnapshots(before, snapshot(net))).toEqual([]);
      } finally {
        // Only if the refusal above failed would QEMU have made this tap: remove what it made.
        if (hostLinkExists(probeTap)) execFileSync('ip', ['link', 'del', 'dev', probeTap]);
        net.remove();
        rmSync(guest.dir, { recursive: true, force: true });
        rmSync(privateDir, { recursive: true, force: true });
      }
    }, 180_000);
  },
);
