// A detach whose netns went away meanwhile has nothing left to put back: it is told apart by
// the not-found code alone, so any other failure to open the netns still surfaces.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { AttachRun, realDeps } from '../../../../network/endpoints/attach-run.js';
import type { HostNic } from '../../../../network/host-nic.js';
import type { NetlinkClient } from '../../../../network/netlink/index.js';
import { NetnsNotFoundError } from '../../../../network/netns/not-found.js';

const NIC: HostNic = { kind: 'vfio', id: 'n0', pciAddress: '0000:01:00.0' };

// An attached run with one inverse and one after-undo action; detach opens via `openNetlink`.
function attached(openNetlink: () => NetlinkClient) {
  const ran: string[] = [];
  const run = new AttachRun({ nicId: 'n0', netns: 'vml-gone' }, {} as NetlinkClient, {
    ...realDeps,
    openNetlink,
  });
  run.undo('remove link', () => void ran.push('inverse'));
  run.whenUndone(() => void ran.push('journal entry removed'));
  const endpoint = run.finish({ kind: 'tap', name: 'tap0' }, NIC);
  return { detach: () => endpoint.detach(), ran };
}

describe('detach after the netns is gone', () => {
  it('is done when opening the netns says NETNS_NOT_FOUND: no inverse runs, the entry goes', async () => {
    const { detach, ran } = attached(() => {
      throw new NetnsNotFoundError('netns', 'vml-gone', '/run/netns/vml-gone');
    });
    await expect(detach()).resolves.toBeUndefined();
    expect(ran).toEqual(['journal entry removed']);
  });

  it('surfaces any other validation failure instead of taking it for a gone netns', async () => {
    const bad = new ValidationError('netns', 'vml-gone', 'something else is wrong');
    const { detach, ran } = attached(() => {
      throw bad;
    });
    await expect(detach()).rejects.toBe(bad);
    expect(ran).toEqual([]);
  });
});
