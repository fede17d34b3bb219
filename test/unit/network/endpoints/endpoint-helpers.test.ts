// The small pieces under attach: vhost-net policy, our link names and labels, the explicit
// ifindex macvtap create with its retry, and finding a macvtap's dev_t in /sys/dev/char.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../core/index.js';
import { NetlinkError } from '../../../../network/errors.js';
import { createMacvtapLink, IFINDEX_MIN } from '../../../../network/endpoints/macvtap-link.js';
import {
  linkName,
  ownerAlias,
  parseOwnerAlias,
  randomLocalMac,
} from '../../../../network/endpoints/names.js';
import { openVhostNet } from '../../../../network/endpoints/vhost-net.js';
import { findMacvtapDevice, makedev } from '../../../../network/macvtap-device.js';
import type { NetlinkClient } from '../../../../network/netlink/index.js';
import { decodeIfInfoMsg } from '../../../../network/netlink/message.js';

// An open() that fails like the kernel would.
function failing(code: string): () => number[] {
  return () => {
    throw Object.assign(new Error(code), { code });
  };
}

describe('vhost-net policy', () => {
  it("'auto' uses the fds when /dev/vhost-net opens", () => {
    expect(openVhostNet('auto', 2, () => [7, 8])).toEqual({
      fds: [7, 8],
      state: { enabled: true },
    });
  });

  it("'auto' turns vhost off with the reason when /dev/vhost-net is absent", () => {
    const r = openVhostNet(undefined, 2, failing('ENOENT'));
    expect(r.fds).toEqual([]);
    expect(r.state).toEqual({ enabled: false, reason: expect.stringMatching(/absent/) as string });
  });

  it("'auto' does not hide other failures (EMFILE)", () => {
    expect(() => openVhostNet('auto', 2, failing('EMFILE'))).toThrow('EMFILE');
  });

  it("'require' fails with UnsupportedError naming why", () => {
    expect(() => openVhostNet('require', 1, failing('ENOENT'))).toThrow(UnsupportedError);
    expect(() => openVhostNet('require', 1, failing('ENOENT'))).toThrow(/absent/);
  });

  it("'off' never opens", () => {
    const r = openVhostNet('off', 4, () => {
      throw new Error('opened');
    });
    expect(r).toEqual({ fds: [], state: { enabled: false, reason: "vhostNet is 'off'" } });
  });
});

describe('names and labels', () => {
  it('derives a stable vml-prefixed name of at most 15 bytes per NIC and role', () => {
    expect(linkName('net0', 't')).toBe(linkName('net0', 't'));
    expect(linkName('net0', 't')).toMatch(/^vmlt[0-9a-f]{8}$/);
    expect(linkName('net0', 'm')).not.toBe(linkName('net1', 'm'));
    expect(Buffer.byteLength(linkName('x'.repeat(64), 'b'))).toBeLessThanOrEqual(15);
  });

  it('labels links vmlaunch:<nicId>:<pid>:<start>:<boot>, and reads only that back', () => {
    const owner = { pid: 42, start: 7, boot: 'e96241cd-f277-417a-a9bc-0967cde5989c' };
    expect(ownerAlias('net0', owner)).toBe(`vmlaunch:net0:42:7:${owner.boot}`);
    expect(parseOwnerAlias(ownerAlias('net0', owner))).toEqual({ nicId: 'net0', owner });
    for (const other of ['vmlaunch:net0:42', 'vmlaunch:net0:42:x:b', 'vmlaunch:a:b:0:1:2', 'x']) {
      expect(parseOwnerAlias(other)).toBeUndefined();
    }
  });

  it('makes locally administered unicast MACs', () => {
    for (let i = 0; i < 100; i++) {
      const first = parseInt(randomLocalMac().slice(0, 2), 16);
      expect(first & 0x03).toBe(0x02);
    }
  });
});

describe('macvtap create with an explicit ifindex', () => {
  // A client whose socket answers EBUSY for the first `busy` requests, recording the ifindexes.
  function client(busy: number): { nl: NetlinkClient; indexes: number[] } {
    const indexes: number[] = [];
    const socket = {
      request: (_type: number, _flags: number, body: Buffer[]) => {
        indexes.push(decodeIfInfoMsg(body[0]!).index);
        if (indexes.length <= busy) {
          return Promise.reject(new NetlinkError('link add macvtap', 16, 'EBUSY'));
        }
        return Promise.resolve([]);
      },
    };
    return { nl: { socket } as unknown as NetlinkClient, indexes };
  }

  it('asks for a random high ifindex whose /dev/tapN is free, and draws again on EBUSY', async () => {
    const { nl, indexes } = client(2);
    const picks = [
      IFINDEX_MIN + 1,
      IFINDEX_MIN + 2,
      IFINDEX_MIN + 3,
      IFINDEX_MIN + 4,
      IFINDEX_MIN + 5,
    ];
    const taken = new Set([`/dev/tap${IFINDEX_MIN + 2}`]);
    const index = await createMacvtapLink(nl, {
      name: 'vmlm0',
      parentIndex: 2,
      pickIndex: () => picks.shift()!,
      devExists: (p) => taken.has(p),
    });
    expect(indexes).toEqual([IFINDEX_MIN + 1, IFINDEX_MIN + 3, IFINDEX_MIN + 4]);
    expect(index).toBe(IFINDEX_MIN + 4);
  });

  it('surfaces EEXIST (a taken name) at once, without retrying', async () => {
    let requests = 0;
    const socket = {
      request: () => (
        requests++,
        Promise.reject(new NetlinkError('link add macvtap', 17, 'EEXIST'))
      ),
    };
    const links = { find: () => Promise.resolve({ name: 'vmlm0' }) };
    const nl = { socket, links } as unknown as NetlinkClient;
    await expect(createMacvtapLink(nl, { name: 'vmlm0', parentIndex: 2 })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(requests).toBe(1);
  });

  it('retries EEXIST when no link has the name (the explicit ifindex was taken)', async () => {
    let requests = 0;
    const socket = {
      request: () =>
        ++requests < 3
          ? Promise.reject(new NetlinkError('link add macvtap', 17, 'EEXIST'))
          : Promise.resolve([]),
    };
    const links = { find: () => Promise.resolve(undefined) };
    const nl = { socket, links } as unknown as NetlinkClient;
    await expect(createMacvtapLink(nl, { name: 'vmlm0', parentIndex: 2 })).resolves.toBeGreaterThan(
      0,
    );
    expect(requests).toBe(3);
  });
});

describe('finding a macvtap char device by dev_t', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  // A fake /proc/devices and /sys/dev/char with the given entries.
  function fakeTree(entries: Record<string, string>): { procDevices: string; sysDevChar: string } {
    root = mkdtempSync(join(tmpdir(), 'vml-sysfs-'));
    const procDevices = join(root, 'devices');
    writeFileSync(procDevices, 'Character devices:\n  1 mem\n246 macvtap\n');
    const sysDevChar = join(root, 'char');
    mkdirSync(sysDevChar);
    for (const [dev, target] of Object.entries(entries)) symlinkSync(target, join(sysDevChar, dev));
    return { procDevices, sysDevChar };
  }

  it('finds the one entry naming the macvtap and its ifindex', () => {
    const roots = fakeTree({
      '246:1': '../../devices/virtual/net/mvA/macvtap/tap5',
      '246:2': '../../devices/virtual/net/mvB/macvtap/tap5',
      '10:5': '../../devices/virtual/misc/tun',
    });
    expect(findMacvtapDevice('mvB', 5, roots)).toEqual({ major: 246, minor: 2 });
  });

  it('refuses an ambiguous match (same name and ifindex in two netns) and a missing one', () => {
    const roots = fakeTree({
      '246:1': '../../devices/virtual/net/mv/macvtap/tap5',
      '246:2': '../../devices/virtual/net/mv/macvtap/tap5',
    });
    expect(() => findMacvtapDevice('mv', 5, roots)).toThrow(/found 246:1, 246:2/);
    expect(() => findMacvtapDevice('mv', 6, roots)).toThrow(/found none/);
  });

  it('encodes dev_t as fs.Stats.rdev does', () => {
    expect(makedev(246, 2)).toBe((246 << 8) | 2);
    expect(makedev(246, 300)).toBe((246 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12));
  });
});
