// Finding and opening the char device of a macvtap that lives in a test netns, without trusting
// /dev/tap<ifindex>: ifindexes are per netns, but devtmpfs names are global (see the
// macvtap-node test), so the node is found by its own dev_t and made privately with mknod.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, ipJson } from '../../helpers/netns.js';

/** A macvtap made by `ip` in a test netns, with its ifindex and char device numbers. */
export interface TestMacvtap {
  name: string;
  ifindex: number;
  major: number;
  minor: number;
}

/** The char major the kernel gave macvtap (/proc/devices). */
export function macvtapMajor(): number {
  const line = readFileSync('/proc/devices', 'utf8')
    .split('\n')
    .find((l) => / macvtap$/.test(l));
  if (line === undefined) throw new Error('macvtap is not in /proc/devices');
  return Number.parseInt(line, 10);
}

/**
 * Adds macvtap `name` (mode bridge) on a new veth inside `netns` and finds its dev_t through
 * /sys/dev/char, whose links name the device path ('.../net/NAME/macvtap/tapIFINDEX'): unique
 * when the macvtap name is unique, unlike /dev/tapN.
 */
export function addMacvtap(netns: string, name: string, lower: string): TestMacvtap {
  ip('-n', netns, 'link', 'add', lower, 'type', 'veth', 'peer', 'name', `${lower}p`);
  ip('-n', netns, 'link', 'add', 'link', lower, 'name', name, 'type', 'macvtap', 'mode', 'bridge');
  const [link] = ipJson<{ ifindex: number }[]>('-n', netns, 'link', 'show', name);
  if (link === undefined) throw new Error(`macvtap ${name} not found in ${netns}`);
  const major = macvtapMajor();
  const suffix = `/net/${name}/macvtap/tap${link.ifindex}`;
  const matches = readdirSync('/sys/dev/char').filter(
    (entry) =>
      entry.startsWith(`${major}:`) && readlinkSync(`/sys/dev/char/${entry}`).endsWith(suffix),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one /sys/dev/char entry for ${suffix}, found ${matches.join(', ')}`);
  }
  const minor = Number(matches[0]!.split(':')[1]);
  return { name, ifindex: link.ifindex, major, minor };
}

/** A private char node for the macvtap (mode 0600 in a 0700 temp dir); remove() deletes it. */
export function privateNode(tap: TestMacvtap): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vml-macvtap-'));
  const path = join(dir, `tap${tap.ifindex}`);
  execFileSync('mknod', ['-m', '600', path, 'c', String(tap.major), String(tap.minor)]);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** glibc's makedev for the small numbers macvtap uses, to compare with fs.Stats.rdev. */
export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}
