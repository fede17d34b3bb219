// removeUnlisted against a scripted kernel: which messages end the wait, which errors surface,
// and that the watcher socket is closed on every path.
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../../../network/errors.js';
import { NLMSG_ERROR, RTM_DELLINK, RTM_NEWLINK } from '../../../../network/netlink/constants.js';
import { removeUnlisted, type RemovalIo } from '../../../../network/netlink/link-removal.js';
import { encodeIfInfoMsg, encodeMessage } from '../../../../network/netlink/message.js';

const SEQ = 4242;
const link = (type: number, index: number) =>
  encodeMessage(type, 0, 0, [encodeIfInfoMsg({ index })]);
const ack = (errno: number) => {
  const body = Buffer.alloc(4 + 16);
  body.writeInt32LE(-errno, 0);
  return encodeMessage(NLMSG_ERROR, 0, SEQ, [body]);
};
const EAGAIN = Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });

// A scripted watcher: each read returns the next chunk, or throws it when it is an Error.
function fakeIo(chunks: Array<Buffer | Error>) {
  const log: string[] = [];
  const io: RemovalIo = {
    openWatcher: () => {
      log.push('open');
      return 99;
    },
    read: (_fd, into) => {
      const next = chunks.shift();
      if (next === undefined) return Promise.reject(new Error('read past the script'));
      if (next instanceof Error) return Promise.reject(next);
      next.copy(into);
      return Promise.resolve(next.length);
    },
    sendDetached: (fd) => void log.push(`send on ${fd}`),
    close: (fd) => void log.push(`close ${fd}`),
    errnoName: (n) => (n === 19 ? 'ENODEV' : `E${n}`),
  };
  return { io, log };
}

const remove = (io: RemovalIo, stillThere = () => Promise.resolve(true)) =>
  removeUnlisted(io, 7, [encodeIfInfoMsg({ index: 7 })], stillThere, 'link del 7', SEQ);

describe('removing a link until it is unlisted', () => {
  it('resolves at the RTM_DELLINK of that link, ignoring other links and other messages', async () => {
    const { io, log } = fakeIo([
      Buffer.concat([link(RTM_NEWLINK, 7), link(RTM_DELLINK, 8)]),
      link(RTM_DELLINK, 7),
    ]);
    await remove(io);
    expect(log).toEqual(['open', 'send on 99', 'close 99']);
  });

  it('resolves at a successful ACK that comes first', async () => {
    const { io, log } = fakeIo([ack(0)]);
    await remove(io);
    expect(log.at(-1)).toBe('close 99');
  });

  it('rejects with the kernel error named after the operation, closing the watcher', async () => {
    const { io, log } = fakeIo([ack(19)]);
    const error = await remove(io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({ errnoName: 'ENODEV', operation: 'link del 7' });
    expect(log.at(-1)).toBe('close 99');
  });

  it('asks whether the link is still there when reads time out, and resolves once it is not', async () => {
    let asked = 0;
    const { io } = fakeIo([EAGAIN, EAGAIN]);
    await remove(io, () => Promise.resolve(++asked < 2));
    expect(asked).toBe(2);
  });

  it('surfaces a read failure other than a timeout, closing the watcher', async () => {
    const { io, log } = fakeIo([Object.assign(new Error('EBADF'), { code: 'EBADF' })]);
    await expect(remove(io)).rejects.toThrow('EBADF');
    expect(log.at(-1)).toBe('close 99');
  });
});
