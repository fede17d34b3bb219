// The fast teardown path: the caller hands the tap fds to a closing thread (closeDetached), so
// the kernel's tap teardown and its RCU wait run there, and detach resolves once the tap has
// left the netns. At that moment the netns must already be exactly as it was before attach.
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import type { Interworking } from '../../../../network/endpoints/types.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import { backgroundRemovals, openNetlink } from '../../../../network/netlink/index.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { leakSnapshot, leaksSince, netnsState, withVethPair } from './veth-fixture.js';

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))(
  'detach after the tap fds went to a closing thread',
  () => {
    for (const [model, queues] of [
      ['tcfilter', 1],
      ['tcfilter', 4],
      ['bridged', 2],
      ['none', 1],
    ] as Array<[Interworking, number]>) {
      it(`${model} with ${queues} queue(s): the netns is as before the moment detach resolves, 20 rounds`, () =>
        withVethPair(`dc${model.slice(0, 3)}`, async ({ netns }) => {
          const before = netnsState(netns);
          const leaks = leakSnapshot(netns);
          const nl = openNetlink(netns);
          try {
            for (let round = 0; round < 20; round++) {
              const attached = await attachEndpoint(
                { kind: 'veth', name: 'eth0', interworking: model, queues },
                { netns, nicId: 'dc0', vhostNet: 'off' },
              );
              const nic = attached.hostNic as TapHostNic;
              const tap = (await nl.links.get(nic.ifname)).index;
              native.closeDetached(nic.tapFds);
              await attached.detach();
              // Asked within a fraction of a millisecond, then with the ip/tc oracle.
              expect(await nl.links.find(tap)).toBeUndefined();
              expect(netnsState(netns)).toEqual(before);
            }
          } finally {
            await nl.close();
          }
          await backgroundRemovals();
          expect(leaksSince(leaks, netns)).toEqual([]);
        }));
    }
  },
);
