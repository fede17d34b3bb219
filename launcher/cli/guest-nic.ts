// Waits, inside the guest, for a NIC with a given MAC to appear in (or leave) /sys/class/net.
// The loop runs in the guest (one console round trip, not one per poll), in a subshell so its
// `exit` cannot end the console shell, and with its own bound.
import type { GuestExecOptions, GuestResult } from '../guest-shell.js';
import { VmlaunchError } from '../../core/index.js';

/** Something that runs guest shell commands (Vm.guest). */
export interface GuestRunner {
  exec(command: string, options?: GuestExecOptions): Promise<GuestResult>;
}

// A MAC can only be hex and colons; checked because it is spliced into a shell script.
function checkedMac(mac: string): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac.toLowerCase()))
    throw new VmlaunchError(`not a MAC address: ${JSON.stringify(mac)}`, 'VALIDATION');
  return mac.toLowerCase();
}

// The demo and the benchmark time "the guest sees the NIC" with this.
/**
 * Resolves with the guest's interface name once a NIC with `mac` is there (`present`), or
 * with '' once it is gone.
 * @throws VmlaunchError (GUEST_NIC_TIMEOUT) after `timeoutMs`, naming the MAC.
 */
export async function waitForGuestMac(
  guest: GuestRunner,
  mac: string,
  present: boolean,
  timeoutMs = 20_000,
): Promise<string> {
  const wanted = checkedMac(mac);
  const polls = Math.ceil(timeoutMs / 20);
  const found =
    'n=""; for d in /sys/class/net/*; do [ "$(cat $d/address 2>/dev/null)" = "' +
    wanted +
    '" ] && n=${d##*/}; done';
  const done = present ? '[ -n "$n" ]' : '[ -z "$n" ]';
  const script = `( i=0; while [ $i -lt ${polls} ]; do ${found}; if ${done}; then echo "=$n"; exit 0; fi; usleep 20000; i=$((i+1)); done; exit 1 )`;
  const r = await guest.exec(script, { timeout: timeoutMs + 10_000 });
  const line = /^=(\S*)$/m.exec(r.output);
  if (r.status !== 0 || !line)
    throw new VmlaunchError(
      `the guest did not show NIC ${wanted} ${present ? 'appear' : 'disappear'} under /sys/class/net within ${timeoutMs} ms`,
      'GUEST_NIC_TIMEOUT',
    );
  return line[1] ?? '';
}
