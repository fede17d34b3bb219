// A netns that vanished (its /run/netns name deleted, or the process behind a /proc path gone)
// is reported the same way by every entry point, with the code NETNS_NOT_FOUND: the opener, a
// netlink client, a request naming it as a peer, and an attach; a detach in it is then done.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import type { TapHostNic } from '../../../network/host-nic.js';
import { openNetlink } from '../../../network/netlink/index.js';
import { NetnsNotFoundError, isNetnsNotFound } from '../../../network/netns/not-found.js';
import { listNetns } from '../../../network/netns/named.js';
import { openNetns } from '../../../network/netns/open.js';
import { ip, uniqueNetnsName, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

// What a call threw or its promise rejected with (undefined when it succeeded).
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error;
  }
}

// Expects the not-found error for `netns`, named as argument `field`.
function expectNotFound(error: unknown, netns: string, field = 'netns'): void {
  expect(error).toBeInstanceOf(NetnsNotFoundError);
  expect(error).toMatchObject({ code: 'NETNS_NOT_FOUND', path: field, value: netns });
  expect(isNetnsNotFound(error)).toBe(true);
}

describe.runIf(prerequisite('network/netns', rootNetnsMissing()))('a vanished netns', () => {
  it('by name: open, netlink, a peer or move target and an attach all say NETNS_NOT_FOUND', () =>
    withTestNetns('gone-here', async (here) => {
      const gone = uniqueNetnsName('gone');
      ip('netns', 'add', gone);
      const nl = openNetlink(here);
      try {
        native.closeFd(openNetns(gone)); // it exists: the errors below are its vanishing
        await openNetlink(gone).close();
        ip('netns', 'del', gone);

        expectNotFound(await failure(() => openNetns(gone)), gone);
        expectNotFound(await failure(() => openNetlink(gone)), gone);
        const peer = { name: 'vml-b', netns: gone };
        expectNotFound(
          await failure(() => nl.links.addVeth({ name: 'vml-a', peer })),
          gone,
          'peer.netns',
        );
        await nl.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
        expectNotFound(await failure(() => nl.links.moveToNetns('vml-a', gone)), gone);
        const attach = await failure(() =>
          attachEndpoint(
            { kind: 'tap', name: 'vmlgone0', create: true },
            { netns: gone, nicId: 'n0' },
          ),
        );
        expectNotFound(attach, gone);
      } finally {
        await nl.close();
        if (listNetns().includes(gone)) ip('netns', 'del', gone);
      }
    }));

  it('by path: /proc/PID/ns/net of a process that exited says NETNS_NOT_FOUND', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const path = `/proc/${child.pid}/ns/net`;
    try {
      native.closeFd(openNetns(path));
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    expectNotFound(await failure(() => openNetns(path)), path);
    expectNotFound(await failure(() => openNetlink(path)), path);
  });

  it('a detach after its netns was deleted is done, with nothing to put back', async () => {
    const gone = uniqueNetnsName('gone-detach');
    ip('netns', 'add', gone);
    try {
      const a = await attachEndpoint(
        { kind: 'tap', name: 'vmlgone1', create: true },
        { netns: gone, nicId: 'n0' },
      );
      native.closeAll((a.hostNic as TapHostNic).tapFds);
      ip('netns', 'del', gone);
      expectNotFound(await failure(() => openNetlink(gone)), gone);
      await expect(a.detach()).resolves.toBeUndefined();
    } finally {
      if (listNetns().includes(gone)) ip('netns', 'del', gone);
    }
  });
});
