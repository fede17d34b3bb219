// Traffic-control bodies: the ingress qdisc, and a u32 "match everything" filter with one
// mirred action (include/uapi/linux/pkt_sched.h, pkt_cls.h, tc_act/tc_mirred.h). Byte for byte
// what `tc filter add dev X parent ffff: protocol all u32 match u8 0 0 action mirred egress
// redirect dev Y` sends (captured with strace from iproute2 6.1).
import {
  attrMap,
  decodeAttrs,
  encodeAttr,
  nestAttr,
  readString,
  stringAttr,
} from './attributes.js';
import {
  ETH_P_ALL,
  INGRESS_HANDLE,
  TC_ACT_STOLEN,
  TC_H_INGRESS,
  TC_MIRRED_LEN,
  TC_U32_KEY_LEN,
  TC_U32_SEL_LEN,
  TC_U32_TERMINAL,
  TCA_ACT_KIND,
  TCA_ACT_OPTIONS,
  TCA_EGRESS_MIRROR,
  TCA_EGRESS_REDIR,
  TCA_INGRESS_MIRROR,
  TCA_INGRESS_REDIR,
  TCA_KIND,
  TCA_MIRRED_PARMS,
  TCA_OPTIONS,
  TCA_U32_ACT,
  TCA_U32_SEL,
  TCMSG_LEN,
} from './constants.js';
import type { NetlinkMessage } from './message.js';
import { decodeTcMsg, encodeTcMsg } from './message.js';
import { decodeTbf, type TbfParams } from './tc-tbf-requests.js';

/** tcm_info of a filter: priority in the high 16 bits, protocol (big-endian) in the low 16. */
export function filterInfo(pref: number, protocol = ETH_P_ALL): number {
  return ((pref << 16) | swap16(protocol)) >>> 0;
}

// htons/ntohs on a little-endian host.
function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

// RTM_NEWQDISC / RTM_DELQDISC body for the ingress qdisc (handle ffff:, parent ffff:fff1).
export function ingressQdiscBody(index: number): Buffer[] {
  return [
    encodeTcMsg({ index, handle: INGRESS_HANDLE, parent: TC_H_INGRESS }),
    stringAttr(TCA_KIND, 'ingress'),
  ];
}

// struct tc_u32_sel with one all-zero key (`match u8 0 0`: mask 0 matches every packet),
// TC_U32_TERMINAL because an action follows.
function matchAllSelector(): Buffer {
  const sel = Buffer.alloc(TC_U32_SEL_LEN + TC_U32_KEY_LEN);
  sel.writeUInt8(TC_U32_TERMINAL, 0);
  sel.writeUInt8(1, 2); // nkeys
  return sel;
}

// struct tc_mirred: tc_gen (index, capab, action, refcnt, bindcnt), eaction, ifindex.
function mirredParms(eaction: number, target: number): Buffer {
  const p = Buffer.alloc(TC_MIRRED_LEN);
  p.writeInt32LE(TC_ACT_STOLEN, 8);
  p.writeInt32LE(eaction, 20);
  p.writeUInt32LE(target, 24);
  return p;
}

// RTM_NEWTFILTER body: u32 on the ingress qdisc, all protocols, one mirred action at order 1.
// pref 0 lets the kernel pick (it starts at 49152, net/sched/cls_api.c tcf_auto_prio).
export function redirectFilterBody(index: number, target: number, pref = 0): Buffer[] {
  const action = nestAttr(1, [
    stringAttr(TCA_ACT_KIND, 'mirred'),
    nestAttr(
      TCA_ACT_OPTIONS,
      [encodeAttr(TCA_MIRRED_PARMS, mirredParms(TCA_EGRESS_REDIR, target))],
      true,
    ),
  ]);
  return [
    encodeTcMsg({ index, parent: INGRESS_HANDLE, info: filterInfo(pref) }),
    stringAttr(TCA_KIND, 'u32'),
    nestAttr(TCA_OPTIONS, [
      nestAttr(TCA_U32_ACT, [action]),
      encodeAttr(TCA_U32_SEL, matchAllSelector()),
    ]),
  ];
}

// RTM_DELTFILTER body: a whole priority (handle 0) or one u32 node.
export function deleteFilterBody(index: number, pref: number, handle = 0): Buffer[] {
  if (handle === 0) return [encodeTcMsg({ index, parent: INGRESS_HANDLE, info: pref << 16 })];
  return [
    encodeTcMsg({ index, parent: INGRESS_HANDLE, handle, info: filterInfo(pref) }),
    stringAttr(TCA_KIND, 'u32'),
  ];
}

/** A qdisc as listed. */
export interface Qdisc {
  index: number;
  kind: string;
  handle: number;
  parent: number;
  /** A tbf's bucket (rate and burst in bytes per second and bytes, queue limit in bytes). */
  tbf?: TbfParams;
}

// Decodes one RTM_NEWQDISC message.
export function decodeQdisc(m: NetlinkMessage): Qdisc {
  const h = decodeTcMsg(m.payload);
  const a = attrMap(m.payload, TCMSG_LEN);
  const kind = readString(a.get(TCA_KIND)) ?? '';
  const options = a.get(TCA_OPTIONS);
  const tbf = kind === 'tbf' && options !== undefined ? decodeTbf(options) : undefined;
  return { index: h.index, kind, handle: h.handle, parent: h.parent, ...(tbf ? { tbf } : {}) };
}

/** What a mirred action does with the packet. */
export type MirredAction =
  'egress-redirect' | 'egress-mirror' | 'ingress-redirect' | 'ingress-mirror';

const MIRRED_ACTIONS: Readonly<Record<number, MirredAction>> = {
  [TCA_EGRESS_REDIR]: 'egress-redirect',
  [TCA_EGRESS_MIRROR]: 'egress-mirror',
  [TCA_INGRESS_REDIR]: 'ingress-redirect',
  [TCA_INGRESS_MIRROR]: 'ingress-mirror',
};

/** A u32 filter node carrying a mirred action. */
export interface RedirectFilter {
  /** The device the filter is attached to. */
  index: number;
  parent: number;
  pref: number;
  /** Host-order ethertype (3 = ETH_P_ALL, `protocol all`). */
  protocol: number;
  /** u32 node handle, e.g. 0x80000800 (`800::800`). */
  handle: number;
  /** True when the selector is one zero-mask key: it matches every packet. */
  matchAll: boolean;
  action: MirredAction;
  /** The mirred target's ifindex. */
  targetIndex: number;
}

// Decodes an RTM_NEWTFILTER message; undefined for anything but a u32 node with mirred
// (a u32 dump also returns its hash-table and chain entries, which carry no action).
export function decodeRedirectFilter(m: NetlinkMessage): RedirectFilter | undefined {
  const h = decodeTcMsg(m.payload);
  const a = attrMap(m.payload, TCMSG_LEN);
  if (readString(a.get(TCA_KIND)) !== 'u32' || !a.has(TCA_OPTIONS)) return undefined;
  const opts = attrMap(a.get(TCA_OPTIONS)!);
  const acts = opts.get(TCA_U32_ACT);
  if (acts === undefined) return undefined;
  for (const act of decodeAttrs(acts)) {
    const fields = attrMap(act.data);
    if (readString(fields.get(TCA_ACT_KIND)) !== 'mirred') continue;
    const parms = attrMap(fields.get(TCA_ACT_OPTIONS) ?? Buffer.alloc(0)).get(TCA_MIRRED_PARMS);
    if (parms === undefined || parms.length < TC_MIRRED_LEN) continue;
    const action = MIRRED_ACTIONS[parms.readInt32LE(20)];
    if (action === undefined) continue;
    return {
      index: h.index,
      parent: h.parent,
      pref: h.info >>> 16,
      protocol: swap16(h.info & 0xffff),
      handle: h.handle,
      matchAll: isMatchAll(opts.get(TCA_U32_SEL)),
      action,
      targetIndex: parms.readUInt32LE(24),
    };
  }
  return undefined;
}

// True for a selector whose every key has mask 0.
function isMatchAll(sel: Buffer | undefined): boolean {
  if (sel === undefined || sel.length < TC_U32_SEL_LEN) return false;
  const nkeys = sel.readUInt8(2);
  for (let i = 0; i < nkeys; i++) {
    const off = TC_U32_SEL_LEN + i * TC_U32_KEY_LEN;
    if (off + TC_U32_KEY_LEN > sel.length || sel.readUInt32LE(off) !== 0) return false;
  }
  return true;
}
