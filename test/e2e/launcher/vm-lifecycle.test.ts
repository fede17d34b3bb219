import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { QmpDisconnectedError } from '../../../launcher/qmp/index.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

// Boots the project's default guest (KVM if the probe says it works here, else TCG).
async function bootGuest(extra: { paused?: boolean } = {}) {
  const guest = await defaultGuest();
  return launch({ kernel: guest.kernel, initrd: guest.initrd, cmdline: HARNESS_CMDLINE, ...extra });
}

describe.runIf(prerequisite('vm lifecycle', qemuMissing()))(
  'a VM launched from the default guest',
  () => {
    it('boots, runs guest commands, and powers off on system_powerdown', async () => {
      const before = ours();
      const vm = await bootGuest();
      console.log(`accelerator: ${vm.accel.accel} (${vm.accel.reason})`);
      await vm.guest.waitReady({ timeout: 90_000 });
      expect((await vm.guest.exec('uname -s')).output).toBe('Linux\n');
      // The guest's own shell: a plain command (sent quoted), one with quotes and a newline
      // (base64), and one that is not valid shell (its status, and the shell takes the next).
      expect(await vm.guest.exec('echo $((6 * 7)) "$HOME" \\$x; false')).toEqual({
        output: '42 /root $x\n',
        status: 1,
      });
      expect(await vm.guest.exec("printf '%s|' 'a b'\necho")).toEqual({
        output: 'a b|\n',
        status: 0,
      });
      expect((await vm.guest.exec('if true')).status).toBe(2);
      expect((await vm.guest.exec('echo next')).output).toBe('next\n');
      expect(await vm.qmp.queryStatus()).toMatchObject({ status: 'running' });
      const exit = await vm.shutdown();
      expect(exit).toMatchObject({ rung: 'powerdown', unexpected: false, code: 0 });
      expect(vm.state).toBe('exited');
      expect(vm.leftovers).toEqual([]);
      expect(diffSnapshots(before, ours())).toEqual([]);
    });

    it('falls to quit when the guest cannot power off (paused CPUs)', async () => {
      const before = ours();
      const vm = await bootGuest({ paused: true });
      expect(await vm.qmp.queryStatus()).toMatchObject({ status: 'prelaunch', running: false });
      const exit = await vm.shutdown({ timeout: 300 });
      expect(exit).toMatchObject({ rung: 'quit', unexpected: false });
      expect(diffSnapshots(before, ours())).toEqual([]);
    });

    it('reports a SIGKILLed QEMU as crashed, rejects the pending call, and cleans up', async () => {
      const before = ours();
      const vm = await bootGuest({ paused: true });
      const qemuFds = readdirSync(`/proc/${vm.pid}/fd`).length;
      expect(qemuFds).toBeGreaterThan(3);
      const pending = vm.qmp.execute('human-monitor-command', {
        'command-line': 'info registers',
      });
      process.kill(vm.pid, 'SIGKILL');
      const outcome = await pending.then(
        () => 'answered before the kill',
        (error: unknown) => error,
      );
      if (outcome !== 'answered before the kill')
        expect(outcome).toBeInstanceOf(QmpDisconnectedError);
      const exit = await vm.exited;
      expect(exit).toMatchObject({ signal: 'SIGKILL', unexpected: true });
      expect(vm.state).toBe('crashed');
      await expect(vm.qmp.queryStatus()).rejects.toBeInstanceOf(QmpDisconnectedError);
      expect(diffSnapshots(before, ours())).toEqual([]);
    });

    it('disposes with await using', async () => {
      const before = ours();
      let pid = 0;
      {
        await using vm = await bootGuest({ paused: true });
        pid = vm.pid;
      }
      expect(readdirSync('/proc').includes(String(pid))).toBe(false);
      expect(diffSnapshots(before, ours())).toEqual([]);
    });
  },
);
