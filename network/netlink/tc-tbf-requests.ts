// The token bucket filter qdisc (include/uapi/linux/pkt_sched.h, struct tc_tbf_qopt): the
// shaper behind NIC rate limits. The parameters are what `tc qdisc add dev X root handle H: tbf
// rate R burst B limit L` sends (iproute2 6.1, seen with strace), minus its 1 KiB rate table:
// with linklayer ethernet the kernel computes transmit times itself and ignores that table.
import { attrMap, encodeAttr, nestAttr, stringAttr, u32Attr } from './attributes.js';
import {
  PSCHED_TICK_NS,
  TC_H_ROOT,
  TC_LINKLAYER_ETHERNET,
  TC_TBF_QOPT_LEN,
  TCA_KIND,
  TCA_OPTIONS,
  TCA_TBF_BURST,
  TCA_TBF_PARMS,
  TCA_TBF_RATE64,
} from './constants.js';
import { encodeTcMsg } from './message.js';

/** A token bucket: `rate` bytes per second, `burst` bytes of bucket, `limit` bytes of queue. */
export interface TbfParams {
  rate: number;
  burst: number;
  limit: number;
}

// The largest rate struct tc_ratespec holds; above it the kernel reads TCA_TBF_RATE64.
const RATE32_MAX = 0xffffffff;

// The bucket as scheduler ticks: the time `burst` bytes take at `rate` (tc's "buffer").
export function burstTicks(rate: number, burst: number): number {
  return Math.min(Math.round((burst * 1e9) / rate / PSCHED_TICK_NS), 0xffffffff);
}

// struct tc_tbf_qopt: rate (tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate),
// peakrate (unused, zero), limit, buffer, mtu (of the unused peak bucket, zero).
// cell_log 3 and cell_align -1 are what tc writes for its rate table's cells (mtu 2047).
export function tbfQopt(p: TbfParams): Buffer {
  const b = Buffer.alloc(TC_TBF_QOPT_LEN);
  b.writeUInt8(3, 0);
  b.writeUInt8(TC_LINKLAYER_ETHERNET, 1);
  b.writeInt16LE(-1, 4);
  b.writeUInt32LE(Math.min(p.rate, RATE32_MAX), 8);
  b.writeUInt32LE(p.limit, 24);
  b.writeUInt32LE(burstTicks(p.rate, p.burst), 28);
  return b;
}

// RTM_NEWQDISC body of a root tbf with handle `handle` (major:0) on link `index`.
export function tbfQdiscBody(index: number, handle: number, p: TbfParams): Buffer[] {
  const options = [encodeAttr(TCA_TBF_PARMS, tbfQopt(p))];
  if (p.rate > RATE32_MAX) {
    const rate64 = Buffer.alloc(8);
    rate64.writeBigUInt64LE(BigInt(p.rate));
    options.push(encodeAttr(TCA_TBF_RATE64, rate64));
  }
  options.push(u32Attr(TCA_TBF_BURST, p.burst));
  return [
    encodeTcMsg({ index, handle, parent: TC_H_ROOT }),
    stringAttr(TCA_KIND, 'tbf'),
    nestAttr(TCA_OPTIONS, options),
  ];
}

// RTM_DELQDISC body of whatever root qdisc the link has (the kernel puts its default back).
export function rootQdiscBody(index: number): Buffer[] {
  return [encodeTcMsg({ index, parent: TC_H_ROOT })];
}

// A dumped tbf's parameters from its TCA_OPTIONS; the kernel reports the bucket as ticks only.
export function decodeTbf(options: Buffer): TbfParams | undefined {
  const parms = attrMap(options).get(TCA_TBF_PARMS);
  if (parms === undefined || parms.length < TC_TBF_QOPT_LEN) return undefined;
  const rate64 = attrMap(options).get(TCA_TBF_RATE64);
  const rate = rate64 !== undefined ? Number(rate64.readBigUInt64LE(0)) : parms.readUInt32LE(8);
  const ticks = parms.readUInt32LE(28);
  return {
    rate,
    burst: Math.round((ticks * PSCHED_TICK_NS * rate) / 1e9),
    limit: parms.readUInt32LE(24),
  };
}
