// Locally administered unicast MAC addresses for guest NICs that have no MAC of their own
// (a vhost-user port, a veth whose MAC moves to a macvtap). IEEE 802 sets the U/L bit (0x02)
// of the first octet for locally administered addresses and clears the I/G bit (0x01) for
// unicast, so a generated address can never collide with a vendor-assigned one.
import { randomBytes } from 'node:crypto';
import { bytesToMac } from '../validate.js';

// A guest NIC needs a MAC; when nobody gave one, a random locally administered unicast one is safe.
/** A random locally administered unicast MAC, e.g. '0a:3f:91:c2:5e:07'. */
export function generateLocalMac(random: (size: number) => Uint8Array = randomBytes): string {
  const bytes = Uint8Array.from(random(6));
  if (bytes.length !== 6) throw new Error(`generateLocalMac: expected 6 random bytes`);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytesToMac(bytes);
}

// Callers that accept a MAC from elsewhere can tell ours (generated) from vendor-assigned ones.
/** True when `mac` has the locally administered bit set and is unicast. */
export function isLocalUnicastMac(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 0x02) === 0x02 && (first & 0x01) === 0;
}
