// The guest side of hot-plug. Readiness: a device_add while the guest is still booting can be
// lost or taken for an unplug (docs/design.md: with native PCIe hot-plug, pciehp reads the pending
// attention-button press as a request to power the slot off), so attach waits for the default
// guest's ready marker. Confirmation: the guest's kernel has bound the NIC when its MAC shows
// under /sys/class/net.
import { AbortError, TimeoutError } from '../../core/index.js';
import type { SerialConsole } from '../console.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { GUEST_READY_MARKER, type GuestShell } from '../guest-shell.js';
import type { HotplugGuest } from './context.js';

/** The kernel command-line word of the default guest's init (harness: commands over console). */
const DEFAULT_GUEST_WORD = /(^|\s)vmlaunch\.console=(\S+)/;

// Remembers that the marker was seen, even after the console ring has dropped it.
function watchMarker(console: SerialConsole): () => boolean {
  let seen = console.since(0).includes(GUEST_READY_MARKER);
  let tail = '';
  const unsubscribe = console.subscribe((chunk) => {
    const text = tail + chunk;
    if (text.includes(GUEST_READY_MARKER)) {
      seen = true;
      unsubscribe();
    }
    tail = text.slice(-GUEST_READY_MARKER.length);
  });
  return () => seen;
}

// The guest hooks of a VM booted from the default guest (its init prints the marker; with
// vmlaunch.console=harness its console takes commands); undefined for any other guest.
export function defaultGuestHooks(
  argv: readonly string[],
  console: SerialConsole,
  shell: GuestShell,
  ready = false,
): HotplugGuest | undefined {
  const mode = argv.map((a) => DEFAULT_GUEST_WORD.exec(a)?.[2]).find((m) => m !== undefined);
  if (mode === undefined) return undefined;
  const seen = ready ? () => true : watchMarker(console);
  return {
    async waitReady({ timeout, signal }) {
      if (seen()) return;
      await console.waitFor(GUEST_READY_MARKER, { timeout, ...(signal ? { signal } : {}) });
    },
    ...(mode === 'harness' ? { exec: (cmd, opts) => shell.exec(cmd, opts) } : {}),
  };
}

/** How the guest shows a NIC. */
export interface GuestNicView {
  ifname: string;
  mtu: number;
}

// Polls the guest until an interface with `mac` exists (or is gone, with `present: false`).
/** @throws TimeoutError naming the MAC and the deadline; AbortError; guest/console errors. */
export async function waitForGuestNic(
  exec: NonNullable<HotplugGuest['exec']>,
  mac: string,
  present: boolean,
  options: { timeout: number; signal?: AbortSignal; interval?: number },
): Promise<GuestNicView | undefined> {
  const started = Date.now();
  const wanted = mac.toLowerCase();
  // Prints "ifname mtu" of the interface with that MAC, or nothing.
  const script =
    'for d in /sys/class/net/*; do ' +
    `[ "$(cat $d/address 2>/dev/null)" = "${wanted}" ] && ` +
    'echo "${d##*/} $(cat $d/mtu)"; ' +
    'done; true';
  for (;;) {
    if (options.signal?.aborted) throw new AbortError('aborted while waiting for the guest NIC');
    const left = options.timeout - (Date.now() - started);
    if (left <= 0) {
      const what = present ? 'appear' : 'disappear';
      throw new TimeoutError(
        `the guest did not show NIC ${wanted} ${what} under /sys/class/net within ${options.timeout} ms`,
      );
    }
    const { output } = await exec(script, {
      timeout: Math.max(left, 1000),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const [ifname, mtu] = output.trim().split(/\s+/);
    if (present && ifname) return { ifname, mtu: Number(mtu) };
    if (!present && !ifname) return undefined;
    const pause = sleep(options.interval ?? 50, undefined, { signal: options.signal });
    await pause.catch(() => undefined); // aborted: the check at the top of the loop throws
  }
}
