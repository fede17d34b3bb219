// Ethernet frames for the traffic tests: an ARP request written into a tap or macvtap fd (with
// the 10-byte virtio_net_hdr that IFF_VNET_HDR puts in front of every frame), and its reply.
import { readSync, writeSync } from 'node:fs';
import { ipJson, tcJson } from '../../../helpers/netns.js';

/** sizeof(struct virtio_net_hdr) without mergeable buffers (the tap default). */
export const VNET_HDR_LEN = 10;

// Dotted quad to bytes.
function ip4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

// aa:bb:.. to bytes.
function mac(m: string): Buffer {
  return Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
}

/** Writes a broadcast ARP request "who has `target`? tell `sender` at `srcMac`" into `fd`. */
export function writeArpRequest(fd: number, srcMac: string, sender: string, target: string): void {
  const frame = Buffer.alloc(VNET_HDR_LEN + 42);
  const e = frame.subarray(VNET_HDR_LEN);
  e.fill(0xff, 0, 6);
  mac(srcMac).copy(e, 6);
  e.writeUInt16BE(0x0806, 12);
  e.writeUInt16BE(1, 14); // Ethernet
  e.writeUInt16BE(0x0800, 16); // IPv4
  e[18] = 6;
  e[19] = 4;
  e.writeUInt16BE(1, 20); // request
  mac(srcMac).copy(e, 22);
  ip4(sender).copy(e, 28);
  ip4(target).copy(e, 38);
  writeSync(fd, frame);
}

/** An ARP frame read from a tap fd: opcode, sender IP and destination MAC. */
export interface ArpSeen {
  op: number;
  senderIp: string;
  dstMac: string;
}

/** Reads one frame (blocking: call only once a counter says one is queued); undefined if not ARP. */
export function readArp(fd: number): ArpSeen | undefined {
  const buf = Buffer.alloc(2048);
  const n = readSync(fd, buf);
  const e = buf.subarray(VNET_HDR_LEN, n);
  if (e.length < 42 || e.readUInt16BE(12) !== 0x0806) return undefined;
  return {
    op: e.readUInt16BE(20),
    senderIp: [...e.subarray(28, 32)].join('.'),
    dstMac: [...e.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
  };
}

/** Packets counted by the mirred actions of the ingress filters on `dev`. */
export function mirredPackets(netns: string, dev: string): number {
  const filters = tcJson<{ options?: { actions?: { stats?: { packets?: number } }[] } }[]>(
    '-n',
    netns,
    '-s',
    'filter',
    'show',
    'dev',
    dev,
    'ingress',
  );
  let total = 0;
  for (const f of filters) for (const a of f.options?.actions ?? []) total += a.stats?.packets ?? 0;
  return total;
}

/** rx packets of a link, as `ip -s` counts them. */
export function rxPackets(netns: string, dev: string): number {
  const [l] = ipJson<{ stats64: { rx: { packets: number } } }[]>(
    '-n',
    netns,
    '-s',
    'link',
    'show',
    dev,
  );
  return l!.stats64.rx.packets;
}

/** Polls `read` every 20 ms until it reaches `atLeast` or `ms` passes; returns the last value. */
export async function waitForCount(
  read: () => number,
  atLeast: number,
  ms = 3000,
): Promise<number> {
  const deadline = Date.now() + ms;
  let value = read();
  while (value < atLeast && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    value = read();
  }
  return value;
}

/**
 * Asks (`ask` writes the ARP request) and reads frames from a tap fd until an ARP reply turns
 * up, reading only as many frames as `queued()` says have arrived (so a read never blocks):
 * other traffic (IPv6 neighbour discovery, router solicitations) may sit in the queue before
 * the reply. Like an ARP client, it asks again every `retryMs`: a frame sent in the moment
 * after a link comes up can be dropped (its qdisc is noop until linkwatch activates it, which
 * a loaded host delays).
 */
export async function askArp(
  fd: number,
  ask: () => void,
  queued: () => number,
  ms = 5000,
  retryMs = 500,
): Promise<ArpSeen | undefined> {
  const deadline = Date.now() + ms;
  let read = 0;
  let askedAt = 0;
  for (;;) {
    if (Date.now() - askedAt >= retryMs) {
      ask();
      askedAt = Date.now();
    }
    const available = queued();
    while (read < available) {
      read += 1;
      const seen = readArp(fd);
      if (seen?.op === 2) return seen;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, 20));
  }
}
