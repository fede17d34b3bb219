// T25: the guest floods its serial console and the caller never reads it (no waitFor, no tail),
// then shuts the VM down. vmlaunch drains the console by itself into a bounded ring, so QEMU
// never blocks on it, and the shutdown ladder ends without a deadlock and without leaks.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

/** The console ring's capacity (SerialConsole's default): what stays in memory at most. */
const RING_CHARS = 1 << 20;

describe.runIf(prerequisite('console flood', qemuMissing()))('a console nobody reads (T25)', () => {
  it('T25: a guest flooding an unread console is shut down by the ladder without deadlock or leak', async () => {
    const before = ours();
    const guest = await defaultGuest();
    const vm = await launch({
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: HARNESS_CMDLINE,
    });
    try {
      await vm.guest.waitReady({ timeout: 90_000 });
      const start = vm.console.mark();
      // In the background, so it keeps writing while the caller does nothing.
      await vm.guest.check(
        '(while :; do echo FLOOD-0123456789-abcdefghijklmnopqrstuvwxyz; done) ' +
          '>/dev/ttyS0 2>&1 </dev/null &',
      );
      // More than the ring holds goes by, unread by anyone but vmlaunch's own drain.
      const deadline = Date.now() + 60_000;
      while (vm.console.mark() - start < RING_CHARS + 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(vm.console.mark() - start).toBeGreaterThanOrEqual(RING_CHARS + 1);
      expect(vm.console.tail(Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(RING_CHARS);
    } catch (error) {
      await vm.kill();
      throw error;
    }
    const started = Date.now();
    const exit = await vm.shutdown({ timeout: 20_000 });
    console.log(`shutdown of a flooding guest: ${exit.rung} after ${Date.now() - started} ms`);
    expect(exit.unexpected).toBe(false);
    expect(['powerdown', 'quit']).toContain(exit.rung);
    expect(vm.state).toBe('exited');
    expect(vm.leftovers).toEqual([]);
    expect(diffSnapshots(before, ours())).toEqual([]);
  }, 180_000);
});
