// NetlinkSocket against a scripted kernel: ACKs, multi-part dumps, error mapping, ordering,
// sequence numbers and close semantics.
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../../../network/errors.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../../../network/netlink/constants.js';
import { encodeMessage } from '../../../../network/netlink/message.js';
import { NetlinkClosedError, NetlinkSocket } from '../../../../network/netlink/socket.js';
import type { Script } from '../../../helpers/netlink-fake-kernel.js';
import { ack, done, errorReply, FakeKernel } from '../../../helpers/netlink-fake-kernel.js';

// A socket on fd 42 over a fake kernel.
function setup(script: Script): { kernel: FakeKernel; socket: NetlinkSocket } {
  const kernel = new FakeKernel(script);
  return { kernel, socket: new NetlinkSocket(42, kernel, 1000) };
}

const part = (seq: number, tag: number, flags = NLM_F_MULTI): Buffer =>
  encodeMessage(RTM_NEWLINK, flags, seq, [Buffer.from([tag, 0, 0, 0])]);

describe('NetlinkSocket', () => {
  it('sends NLM_F_REQUEST|NLM_F_ACK plus the given flags, with increasing sequence numbers', async () => {
    const { kernel, socket } = setup((req) => [[ack(req)]]);
    await socket.request(RTM_NEWLINK, 0x600, [Buffer.alloc(16)], 'link add x');
    await socket.request(RTM_NEWLINK, 0, [Buffer.alloc(16)], 'link set x');
    expect(kernel.requests.map((r) => r.flags)).toEqual([
      NLM_F_REQUEST | NLM_F_ACK | 0x600,
      NLM_F_REQUEST | NLM_F_ACK,
    ]);
    expect(kernel.requests.map((r) => r.seq)).toEqual([1001, 1002]);
  });

  it('returns the data messages that precede the ACK', async () => {
    const { socket } = setup((req) => [[part(req.seq, 9, 0)], [ack(req)]]);
    const out = await socket.request(RTM_GETLINK, 0, [Buffer.alloc(16)], 'link get x');
    expect(out.map((m) => m.payload[0])).toEqual([9]);
  });

  it('collects a dump across several reads until NLMSG_DONE, skipping stale sequence numbers', async () => {
    const { kernel, socket } = setup((req) => [
      [part(req.seq, 1), part(req.seq - 1, 99), part(req.seq, 2)],
      [part(req.seq, 3)],
      [done(req)],
    ]);
    const out = await socket.dump(RTM_GETLINK, [Buffer.alloc(16)], 'link list');
    expect(out.map((m) => m.payload[0])).toEqual([1, 2, 3]);
    expect(kernel.requests[0]!.flags).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(kernel.reads).toBe(3);
  });

  it('retries a dump the kernel marked interrupted (NLM_F_DUMP_INTR)', async () => {
    let calls = 0;
    const { socket } = setup((req) => {
      calls++;
      const flags = calls === 1 ? NLM_F_MULTI | NLM_F_DUMP_INTR : NLM_F_MULTI;
      return [[part(req.seq, calls, flags), done(req)]];
    });
    const out = await socket.dump(RTM_GETLINK, [Buffer.alloc(16)], 'link list');
    expect(calls).toBe(2);
    expect(out.map((m) => m.payload[0])).toEqual([2]);
  });

  it('turns NLMSG_ERROR into NetlinkError with the operation, errno name and extended ack', async () => {
    const { socket } = setup((req) => [[errorReply(req, 17, 'Link already exists')]]);
    const error = await socket
      .request(RTM_NEWLINK, 0x600, [Buffer.alloc(16)], 'link add veth vml-a')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toMatchObject({
      operation: 'link add veth vml-a',
      errno: 17,
      errnoName: 'EEXIST',
      code: 'EEXIST',
      kernelMessage: 'Link already exists',
      message: 'link add veth vml-a: EEXIST (Link already exists)',
    });
  });

  it('reports an error without extended ack as plain `operation: ENAME`', async () => {
    const { socket } = setup((req) => [[errorReply(req, 19)]]);
    await expect(socket.request(RTM_GETLINK, 0, [], 'link del nope')).rejects.toThrow(
      /^link del nope: ENODEV$/,
    );
  });

  it('fails a dump whose NLMSG_DONE carries an error', async () => {
    const { socket } = setup((req) => [[part(req.seq, 1), done(req, 22)]]);
    await expect(socket.dump(RTM_GETLINK, [], 'filter show dev x')).rejects.toMatchObject({
      errnoName: 'EINVAL',
      operation: 'filter show dev x',
    });
  });

  it('runs requests one at a time, in order', async () => {
    const { kernel, socket } = setup((req) => [[ack(req)]]);
    kernel.writeDelayMs = 5;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3].map((i) =>
        socket.request(RTM_NEWLINK, 0, [Buffer.from([i, 0, 0, 0])], `op ${i}`).then(() => {
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(kernel.requests.map((r) => r.payload[0])).toEqual([1, 2, 3]);
  });

  it('close() rejects the in-flight and queued requests and closes the fd once I/O returns', async () => {
    const { kernel, socket } = setup((req) => [[ack(req)]]);
    kernel.writeDelayMs = 20;
    const first = socket.request(RTM_NEWLINK, 0, [], 'link del a').catch((e: unknown) => e);
    const second = socket.request(RTM_NEWLINK, 0, [], 'link del b').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    const closing = socket.close();
    expect(await first).toBeInstanceOf(NetlinkClosedError);
    expect(await second).toMatchObject({ code: 'NETLINK_CLOSED', operation: 'link del b' });
    expect(kernel.closed).toEqual([]);
    await closing;
    expect(kernel.closed).toEqual([42]);
    expect(kernel.requests).toHaveLength(1);
  });

  it('a closed socket fails at once without I/O, and close is idempotent', async () => {
    const { kernel, socket } = setup((req) => [[ack(req)]]);
    await socket.close();
    await socket.close();
    await expect(socket.request(RTM_NEWLINK, 0, [], 'link add x')).rejects.toBeInstanceOf(
      NetlinkClosedError,
    );
    await expect(socket.dump(RTM_GETLINK, [], 'link list')).rejects.toThrow(/closed/);
    expect(kernel.requests).toHaveLength(0);
    expect(kernel.closed).toEqual([42]);
  });
});
