// Validators for what reaches the kernel: interface names, MAC addresses, MTUs, netns names,
// IP prefixes. Each throws a ValidationError naming the field before any syscall is made.
import { isIP } from 'node:net';
import { ValidationError } from '../core/index.js';

/** Kernel limit: IFNAMSIZ is 16 bytes including the NUL (include/uapi/linux/if.h). */
export const IFNAME_MAX_BYTES = 15;
/** ETH_MIN_MTU (68 for IPv4) and the largest MTU a veth/tap accepts (ETH_MAX_MTU). */
export const MTU_MIN = 68;
export const MTU_MAX = 65535;

// Mirrors the kernel's dev_valid_name(): 1-15 bytes, not '.' or '..', no '/', ':' or whitespace.
// We also refuse non-ASCII so that a name is always what `ip` shows.
export function validateIfName(name: unknown, path = 'name'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(path, name, 'an interface name must be a non-empty string');
  }
  if (Buffer.byteLength(name) > IFNAME_MAX_BYTES) {
    throw new ValidationError(path, name, `an interface name is at most ${IFNAME_MAX_BYTES} bytes`);
  }
  if (name === '.' || name === '..') {
    throw new ValidationError(path, name, "an interface name cannot be '.' or '..'");
  }
  // '%' too: the kernel expands '%d' in a new link's name, so the link made would not be `name`.
  // eslint-disable-next-line no-control-regex
  if (/[/:%\s\x00-\x1f\x7f]/.test(name) || /[^\x20-\x7e]/.test(name)) {
    throw new ValidationError(
      path,
      name,
      "an interface name may not contain '/', ':', '%', whitespace, control or non-ASCII characters",
    );
  }
  return name;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

// A unicast, non-zero Ethernet address in aa:bb:cc:dd:ee:ff form; returned lower-cased.
export function validateMac(mac: unknown, path = 'mac'): string {
  if (typeof mac !== 'string' || !MAC_RE.test(mac)) {
    throw new ValidationError(path, mac, 'a MAC address must look like 52:54:00:12:34:56');
  }
  const bytes = macToBytes(mac);
  if ((bytes[0]! & 1) === 1) {
    throw new ValidationError(path, mac, 'a MAC address must be unicast (first octet even)');
  }
  if (bytes.every((b) => b === 0)) {
    throw new ValidationError(path, mac, 'the all-zero MAC address is not usable');
  }
  return mac.toLowerCase();
}

// Parses a validated MAC into its six bytes.
export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

// Formats six bytes as aa:bb:cc:dd:ee:ff.
export function bytesToMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

// An MTU within what the kernel accepts for the links we create.
export function validateMtu(mtu: unknown, path = 'mtu'): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < MTU_MIN || mtu > MTU_MAX) {
    throw new ValidationError(path, mtu, `an MTU must be an integer from ${MTU_MIN} to ${MTU_MAX}`);
  }
  return mtu;
}

// A name for /run/netns/NAME: a single path component of safe characters.
export function validateNetnsName(name: unknown, path = 'netns'): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/.test(name)) {
    throw new ValidationError(
      path,
      name,
      'a netns name is 1-255 of [A-Za-z0-9_.-] and does not start with . or -',
    );
  }
  if (name === '.' || name === '..') throw new ValidationError(path, name, 'not a netns name');
  return name;
}

/** An address with its prefix length, e.g. { address: '10.0.0.1', prefixLen: 24, family: 4 }. */
export interface Prefix {
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

// Parses 'a.b.c.d/len' or 'x::y/len' (a bare address gets /32 or /128).
export function parsePrefix(value: unknown, path = 'address'): Prefix {
  if (typeof value !== 'string') throw new ValidationError(path, value, 'expected "address/len"');
  // A zone id (fe80::1%eth0) has no place in a kernel address: refuse rather than drop it.
  if (value.includes('%')) {
    throw new ValidationError(path, value, 'an address with a zone id (%...) is not accepted');
  }
  const [address, len, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (rest.length > 0 || (family !== 4 && family !== 6)) {
    throw new ValidationError(
      path,
      value,
      'expected an IPv4 or IPv6 address with an optional /len',
    );
  }
  const max = family === 4 ? 32 : 128;
  const prefixLen = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? String(max)) || prefixLen > max) {
    throw new ValidationError(path, value, `the prefix length must be 0-${max}`);
  }
  return { address: address!, prefixLen, family };
}
