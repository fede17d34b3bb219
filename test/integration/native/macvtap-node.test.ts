// Measured facts about macvtap char devices in a non-init netns, which issue 3 builds on:
// devtmpfs names the node /dev/tap<ifindex>, but ifindexes are per netns, so two macvtaps in two
// netns can share one name while having different dev_t. A private node made from the
// macvtap's own dev_t (found in /sys/dev/char) reaches the right one.
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { ip, ipJson, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { addMacvtap, privateNode, type TestMacvtap } from './macvtap-helpers.js';

// Received packets of `ifname` in `netns`, as `ip -s` counts them.
function rxPackets(netns: string, ifname: string): number {
  const [link] = ipJson<{ stats64: { rx: { packets: number } } }[]>(
    '-n',
    netns,
    '-s',
    'link',
    'show',
    ifname,
  );
  return link!.stats64.rx.packets;
}

describe.runIf(prerequisite('macvtap device nodes', rootNetnsMissing()))(
  'macvtap char devices in test netns',
  () => {
    const netnsA = uniqueNetnsName('mva');
    const netnsB = uniqueNetnsName('mvb');
    // Unique macvtap names keep the /sys/dev/char links (…/net/NAME/macvtap/tapN) unambiguous.
    const nameA = `mva${randomBytes(4).toString('hex')}`;
    const nameB = `mvb${randomBytes(4).toString('hex')}`;
    let a: TestMacvtap;
    let b: TestMacvtap;

    beforeAll(() => {
      for (const ns of [netnsA, netnsB]) ip('netns', 'add', ns);
      a = addMacvtap(netnsA, nameA, 'vlow');
      b = addMacvtap(netnsB, nameB, 'vlow');
      for (const [ns, tap] of [
        [netnsA, a],
        [netnsB, b],
      ] as const) {
        // No IPv6 link-local address: no DAD or router solicitation traffic to skew the counters.
        for (const link of ['vlow', 'vlowp', tap.name]) {
          ip('-n', ns, 'link', 'set', link, 'addrgenmode', 'none');
          ip('-n', ns, 'link', 'set', link, 'up');
        }
      }
    });

    afterAll(() => {
      for (const ns of [netnsA, netnsB]) ip('netns', 'del', ns);
    });

    it('gives two macvtaps the same ifindex but different dev_t: /dev/tap<ifindex> cannot name both', () => {
      expect(a.ifindex).toBe(b.ifindex);
      expect(a.major).toBe(b.major);
      expect(a.minor).not.toBe(b.minor);
    });

    it("reaches a macvtap through a private node made from its own dev_t, not the other netns's", () => {
      const node = privateNode(b);
      try {
        const [fd] = native.macvtapOpen(node.path, 1, false);
        try {
          const beforeA = rxPackets(netnsA, 'vlowp');
          const beforeB = rxPackets(netnsB, 'vlowp');
          // A broadcast frame with a local experimental ethertype (0x88b5), padded to 60 bytes.
          const frame = Buffer.alloc(60);
          frame.fill(0xff, 0, 6);
          Buffer.from('02000000aa01', 'hex').copy(frame, 6);
          frame.writeUInt16BE(0x88b5, 12);
          expect(writeSync(fd!, frame)).toBe(60);
          expect(rxPackets(netnsB, 'vlowp')).toBe(beforeB + 1);
          expect(rxPackets(netnsA, 'vlowp')).toBe(beforeA);
        } finally {
          native.closeFd(fd!);
        }
      } finally {
        node.remove();
      }
    });
  },
);
