// The guest side of a drive hot-plug: the kernel has bound the disk when a block device with
// the drive's serial shows under /sys/block (virtio-blk puts the serial in vdX/serial).
import { AbortError, TimeoutError } from '../../core/index.js';
import type { HotplugGuest } from './context.js';
import { setTimeout as sleep } from 'node:timers/promises';

// Polls the guest until a disk with `serial` exists (or is gone, with `present: false`).
/** @throws TimeoutError naming the serial and the deadline; AbortError; guest/console errors. */
export async function waitForGuestDisk(
  exec: NonNullable<HotplugGuest['exec']>,
  serial: string,
  present: boolean,
  options: { timeout: number; signal?: AbortSignal; interval?: number },
): Promise<string | undefined> {
  const started = Date.now();
  // Prints the name of the disk with that serial, or nothing (serials are [A-Za-z0-9._-]).
  // Quoted: with no disk the loop sees the literal pattern, which must not glob again later.
  const script =
    'for d in /sys/block/*; do ' +
    `[ -e "$d" ] && [ "$(cat "$d/serial" 2>/dev/null)" = "${serial}" ] && echo "\${d##*/}"; ` +
    'done; true';
  for (;;) {
    if (options.signal?.aborted) throw new AbortError('aborted while waiting for the guest disk');
    const left = options.timeout - (Date.now() - started);
    if (left <= 0) {
      const what = present ? 'appear' : 'disappear';
      throw new TimeoutError(
        `the guest did not show a disk with serial ${serial} ${what} under /sys/block within ${options.timeout} ms`,
      );
    }
    const { output } = await exec(script, {
      timeout: Math.max(left, 1000),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const name = output.trim().split(/\s+/)[0];
    if (present && name) return name;
    if (!present && !name) return undefined;
    const pause = sleep(options.interval ?? 50, undefined, { signal: options.signal });
    await pause.catch(() => undefined); // aborted: the check at the top of the loop throws
  }
}
