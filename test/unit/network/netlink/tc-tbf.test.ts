// The tbf shaper's requests against iproute2 6.1's (captured with strace -e write=3 on this
// kernel, seq replaced by 7) and the decoding of what a dump returns.
import { describe, expect, it } from 'vitest';
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RTM_DELQDISC,
  RTM_NEWQDISC,
} from '../../../../network/netlink/constants.js';
import { decodeQdisc } from '../../../../network/netlink/tc-requests.js';
import { encodeMessage, decodeMessages } from '../../../../network/netlink/message.js';
import {
  burstTicks,
  decodeTbf,
  rootQdiscBody,
  tbfQdiscBody,
} from '../../../../network/netlink/tc-tbf-requests.js';

function hex(type: number, flags: number, body: Buffer[]): string {
  return encodeMessage(type, flags, 7, body).toString('hex');
}

const PARAMS = { rate: 100_000, burst: 16_384, limit: 116_384 };

describe('tbf requests', () => {
  it('tc qdisc replace dev (3) root handle 766d: tbf rate 800kbit burst 16384 limit 116384', () => {
    // tc's message less its 1 KiB rate table (TCA_TBF_RTAB, last in TCA_OPTIONS): nlmsg_len
    // 1124 -> 96 and TCA_OPTIONS' nla_len 1080 -> 52; every other byte is tc's.
    const tc =
      '60000000' + // nlmsg_len (tc: 64040000)
      '24000505' + // RTM_NEWQDISC, REQUEST|ACK|REPLACE|CREATE
      '0700000000000000' + // seq, pid
      '0000000003000000' + // family, ifindex 3
      '00006d76' + // handle 766d:
      'ffffffff00000000' + // parent root, info
      '0800010074626600' + // TCA_KIND "tbf"
      '34000200' + // TCA_OPTIONS (tc: 38040200)
      '28000100' + // TCA_TBF_PARMS, struct tc_tbf_qopt:
      '03010000ffff0000a0860100' + // rate: cell_log 3, linklayer ethernet, cell_align -1, 100000 B/s
      '000000000000000000000000' + // peakrate
      'a0c60100' + // limit 116384
      '00102700' + // buffer 2560000 ticks (16384 B at 100000 B/s, 64 ns ticks)
      '00000000' + // mtu
      '0800060000400000'; // TCA_TBF_BURST 16384
    const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE;
    expect(hex(RTM_NEWQDISC, flags, tbfQdiscBody(3, 0x766d0000, PARAMS))).toBe(tc);
  });

  it('tc qdisc del dev (3) root', () => {
    expect(hex(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, rootQdiscBody(3))).toBe(
      '24000000' +
        '25000500' +
        '0700000000000000' +
        '0000000003000000' +
        '00000000' +
        'ffffffff00000000',
    );
  });

  it('puts rates above 2^32-1 B/s into TCA_TBF_RATE64 and caps the 32-bit field', () => {
    const body = tbfQdiscBody(3, 0x766d0000, { rate: 2 ** 33, burst: 1 << 20, limit: 1 << 21 });
    const options = body[2]!.subarray(4);
    // The dump's bucket is whole 64 ns ticks: at this rate one tick is 550 bytes.
    expect(decodeTbf(options)).toMatchObject({ rate: 2 ** 33, limit: 1 << 21 });
    expect(Math.abs(decodeTbf(options)!.burst - (1 << 20))).toBeLessThan(550);
    expect(options.readUInt32LE(4 + 8)).toBe(0xffffffff);
  });

  it('reads a dumped tbf back: rate, burst from the ticks, limit', () => {
    const message = encodeMessage(RTM_NEWQDISC, 0, 1, tbfQdiscBody(9, 0x766d0000, PARAMS));
    const [m] = decodeMessages(message);
    expect(decodeQdisc(m!)).toEqual({
      index: 9,
      kind: 'tbf',
      handle: 0x766d0000,
      parent: 0xffffffff,
      tbf: PARAMS,
    });
    expect(burstTicks(125_000, 20_000)).toBe(2_500_000);
    expect(decodeTbf(Buffer.alloc(0))).toBeUndefined();
  });
});
