// Rate limit logic: checks and defaults, the tbf a limit becomes, and RateControl's steps over
// a fake tc (a change is all or nothing; detach leaves our own tap's qdisc to the tap; someone
// else's root qdisc is refused). The kernel side is test/integration/network/endpoints/rate-limit.
import { describe, expect, it } from 'vitest';
import type { NetlinkClient, Qdisc, TbfParams } from '../../../../network/netlink/index.js';
import {
  checkRateChange,
  checkRateLimit,
  RATE_QDISC_HANDLE,
  RateControl,
  tbfFor,
} from '../../../../network/endpoints/rate-limit.js';

// Root qdiscs by ifindex; `failOn` makes setRootTbf on that link fail once.
function fakeTc(roots: Map<number, Qdisc> = new Map()) {
  const calls: string[] = [];
  let failOn: number | undefined;
  const txqlen = new Map<number, number>();
  const nl = {
    tc: {
      root: (index: number) => Promise.resolve(roots.get(index)),
      setRootTbf: (index: number, handle: number, tbf: TbfParams) => {
        calls.push(`set ${index} ${tbf.rate}`);
        if (failOn === index) {
          failOn = undefined;
          return Promise.reject(Object.assign(new Error('EINVAL'), { code: 'EINVAL' }));
        }
        roots.set(index, { index, kind: 'tbf', handle, parent: 0xffffffff, tbf });
        txqlen.set(index, 1000);
        return Promise.resolve();
      },
      deleteRoot: (index: number) => {
        calls.push(`del ${index}`);
        roots.delete(index);
        return Promise.resolve();
      },
    },
    links: {
      get: (index: number) => Promise.resolve({ index, txqlen: txqlen.get(index) ?? 0 }),
      setTxqlen: (index: number, value: number) => {
        calls.push(`txqlen ${index} ${value}`);
        txqlen.set(index, value);
        return Promise.resolve();
      },
    },
  } as unknown as NetlinkClient;
  return { nl, calls, roots, failNext: (index: number) => void (failOn = index) };
}

const LINKS = {
  rx: { index: 5, name: 'vmtap', removedWithTheLink: true },
  tx: { index: 2, name: 'eth0' },
};

describe('rate limit checks', () => {
  it('fills the burst (100 ms of rate, at least 16 KiB) and refuses bad values', () => {
    expect(checkRateLimit({ rate: 1_000_000 }, 'r')).toEqual({ rate: 1_000_000, burst: 100_000 });
    expect(checkRateLimit({ rate: 1000 }, 'r')).toEqual({ rate: 1000, burst: 16_384 });
    expect(checkRateLimit({ rate: 1000, burst: 4096 }, 'r')).toEqual({ rate: 1000, burst: 4096 });
    for (const bad of [
      { rate: 0 },
      { rate: 1.5 },
      { rate: 2 ** 32 },
      { rate: 10, burst: 100 },
      null,
      5,
    ]) {
      expect(() => checkRateLimit(bad, 'r'), JSON.stringify(bad)).toThrow(/^r/);
    }
    expect(checkRateChange({ rx: null, tx: undefined })).toEqual({ rx: null });
    expect(() => checkRateChange({ up: { rate: 1 } })).toThrow(/only rx and tx/);
  });

  it('queues a fifth of a second of rate (at least 64 KiB) behind the burst', () => {
    expect(tbfFor({ rate: 1_000_000, burst: 100_000 })).toEqual({
      rate: 1_000_000,
      burst: 100_000,
      limit: 300_000,
    });
    expect(tbfFor({ rate: 1000, burst: 16_384 }).limit).toBe(16_384 + 65_536);
  });
});

describe('RateControl', () => {
  it('sets, changes and removes per direction; detach leaves our tap its qdisc', async () => {
    const { nl, calls, roots } = fakeTc();
    const control = new RateControl(LINKS);
    expect(await control.apply(nl, { rx: { rate: 1000 }, tx: { rate: 2000 } })).toEqual({
      rx: { rate: 1000, burst: 16_384 },
      tx: { rate: 2000, burst: 16_384 },
    });
    expect(await control.apply(nl, { rx: null })).toEqual({ tx: { rate: 2000, burst: 16_384 } });
    await control.apply(nl, { rx: { rate: 3000 } });
    await control.clear(nl);
    expect(control.rate).toEqual({});
    // The veth's tbf is deleted and its txqueuelen put back; the tap's is left to the tap.
    expect(calls).toEqual([
      'set 5 1000',
      'set 2 2000',
      'del 5',
      'txqlen 5 0',
      'set 5 3000',
      'del 2',
      'txqlen 2 0',
    ]);
    expect([...roots.keys()]).toEqual([5]);
  });

  it('a failing direction puts the other back: all of a change or none', async () => {
    const { nl, calls, failNext } = fakeTc();
    const control = new RateControl(LINKS);
    await control.apply(nl, { rx: { rate: 1000 } });
    failNext(2);
    await expect(
      control.apply(nl, { rx: { rate: 5000 }, tx: { rate: 2000 } }),
    ).rejects.toMatchObject({ step: 'set guest transmit limit' });
    expect(control.rate).toEqual({ rx: { rate: 1000, burst: 16_384 } });
    expect(calls).toEqual(['set 5 1000', 'set 5 5000', 'set 2 2000', 'set 5 1000']);
  });

  it('refuses a direction without a link, and a root qdisc that is not ours, before any change', async () => {
    const { nl, calls } = fakeTc(
      new Map([[2, { index: 2, kind: 'htb', handle: 0x10000, parent: 0xffffffff }]]),
    );
    await expect(
      new RateControl({ rx: LINKS.rx }).apply(nl, { rx: { rate: 1 * 4096 }, tx: { rate: 4096 } }),
    ).rejects.toThrow(/guest transmit/);
    await expect(new RateControl(LINKS).apply(nl, { tx: { rate: 4096 } })).rejects.toThrow(
      /eth0 already has a root qdisc \(htb 1:\)/,
    );
    expect(calls).toEqual([]);
    // The kernel's default root (handle 0) and our own are fine to replace.
    const ours = fakeTc(
      new Map([[2, { index: 2, kind: 'tbf', handle: RATE_QDISC_HANDLE, parent: 0xffffffff }]]),
    );
    await new RateControl(LINKS).apply(ours.nl, { tx: { rate: 4096 } });
    expect(ours.calls).toEqual(['set 2 4096']);
  });
});
