// Per-direction rate limits of a tap-backed NIC: a root token bucket (tbf) on each host link
// whose egress carries one direction of the NIC's traffic. The tap's egress is what the guest
// receives; what the guest transmits leaves by the egress of the link the model joined the tap
// to (tcfilter redirects the tap's ingress there, bridged forwards there). Shaping on egress
// rather than policing on the tap's ingress: kernels without act_police have tbf (docs/nic-control.md).
import { StepRunner } from '../../core/steps.js';
import { UnsupportedError, ValidationError } from '../../core/index.js';
import type { NetlinkClient, TbfParams } from '../netlink/index.js';

/** One direction's token bucket: `rate` bytes per second; `burst` bytes sent at line speed. */
export interface RateLimit {
  rate: number;
  /** Default: 100 ms worth of `rate`, at least 16 KiB. At least 2048 (a full frame must fit). */
  burst?: number;
}

/** A NIC's limits in the guest's terms: rx what it receives, tx what it transmits. */
export interface NicRate {
  rx?: RateLimit;
  tx?: RateLimit;
}

/** A live change: a limit sets or replaces that direction's, null removes it, absent keeps it. */
export interface NicRateChange {
  rx?: RateLimit | null;
  tx?: RateLimit | null;
}

/** The handle of our tbf qdiscs (766d:, "vm"), so they can be told from anyone else's. */
export const RATE_QDISC_HANDLE = 0x766d0000;

/** A host link whose egress one direction is shaped on. */
export interface ShapedLink {
  index: number;
  name: string;
  /** A link attach made (tap, macvtap): removing it removes its qdisc, so detach leaves that
   *  to the link's own undo. */
  removedWithTheLink?: boolean;
}

/** The links of one NIC: rx the tap (none for macvtap), tx the link the guest's frames leave by. */
export interface ShapedLinks {
  rx?: ShapedLink;
  tx?: ShapedLink;
}

const MIN_BURST = 2048;
const DIRECTIONS = ['rx', 'tx'] as const;
type Direction = (typeof DIRECTIONS)[number];
const NAMES: Record<Direction, string> = { rx: 'guest receive', tx: 'guest transmit' };
const WHY_NOT: Record<Direction, string> = {
  rx: 'a macvtap hands frames to the guest from its receive path, where only a policer could act',
  tx: "a tap endpoint and the none model hand the guest's frames to the host stack",
};

// A checked limit with its burst filled in.
/** @throws {ValidationError} a rate or burst that is not a positive integer in range. */
export function checkRateLimit(value: unknown, path: string): Required<RateLimit> {
  const v = value as RateLimit | null;
  if (typeof v !== 'object' || v === null)
    throw new ValidationError(path, value, 'a rate limit is { rate, burst? } in bytes');
  const rate = v.rate;
  if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > 0xffffffff)
    throw new ValidationError(`${path}.rate`, rate, 'bytes per second, from 1 to 2^32-1');
  const burst = v.burst ?? Math.max(Math.round(rate / 10), 16384);
  if (!Number.isInteger(burst) || burst < MIN_BURST || burst > 0x7fffffff)
    throw new ValidationError(`${path}.burst`, v.burst, `bytes, from ${MIN_BURST} to 2^31-1`);
  return { rate, burst };
}

/** @throws {ValidationError} a malformed change (see checkRateLimit). */
export function checkRateChange(value: unknown, path = 'rate'): NicRateChange {
  if (typeof value !== 'object' || value === null)
    throw new ValidationError(path, value, 'expected { rx?, tx? }');
  const out: NicRateChange = {};
  for (const [key, limit] of Object.entries(value)) {
    if (key !== 'rx' && key !== 'tx')
      throw new ValidationError(`${path}.${key}`, limit, 'a rate has only rx and tx');
    if (limit === undefined) continue;
    out[key] = limit === null ? null : checkRateLimit(limit, `${path}.${key}`);
  }
  return out;
}

// The tbf of a limit: its queue holds a fifth of a second of rate, at least 64 KiB, on top of
// the burst, so a TCP sender is slowed by queueing more than by drops.
export function tbfFor(limit: Required<RateLimit>): TbfParams {
  const queue = Math.max(Math.round(limit.rate / 5), 65536);
  return { ...limit, limit: Math.min(limit.burst + queue, 0xffffffff) };
}

/** The limits of one attached NIC and the links they sit on; changes run as undoable steps. */
export class RateControl {
  private current: { rx?: Required<RateLimit>; tx?: Required<RateLimit> } = {};
  /** txqueuelen of each link before we first shaped it (a qdisc may raise a 0 to 1000). */
  private readonly txqlen = new Map<number, number>();

  constructor(private readonly links: ShapedLinks) {}

  /** The limits in force. */
  get rate(): NicRate {
    return { ...this.current };
  }

  // All of a change or none: each direction is a step whose undo puts the previous one back.
  /**
   * Applies `change` through `nl` and returns the limits now in force.
   * @throws {ValidationError} a malformed change; {UnsupportedError} a direction this NIC's
   *   model has no link for (before anything changes); {StepError} naming the direction.
   */
  async apply(nl: NetlinkClient, change: NicRateChange): Promise<NicRate> {
    const checked = checkRateChange(change);
    for (const d of DIRECTIONS) {
      if (checked[d] && this.links[d] === undefined) {
        throw new UnsupportedError(
          `this NIC's ${NAMES[d]} traffic leaves by no egress vmlaunch can shape (${WHY_NOT[d]}); see docs/nic-control.md`,
        );
      }
    }
    const steps = new StepRunner();
    for (const d of DIRECTIONS) {
      const next = checked[d];
      if (next === undefined) continue;
      const link = this.links[d];
      const before = this.current[d];
      if (next === null && before === undefined) continue;
      const name = next === null ? `remove ${NAMES[d]} limit` : `set ${NAMES[d]} limit`;
      await steps.step(name, async () => {
        if (next === null) await this.unshape(nl, link!);
        else await this.shape(nl, link!, next as Required<RateLimit>, before !== undefined);
        steps.push(`restore ${NAMES[d]} limit`, async () => {
          if (before === undefined) await this.unshape(nl, link!);
          else await this.shape(nl, link!, before, true);
          this.set(d, before);
        });
        this.set(d, next === null ? undefined : (next as Required<RateLimit>));
      });
    }
    return this.rate;
  }

  // Detach: every limit goes, except on our own tap, which takes its qdisc along.
  /** Removes the limits in force. @throws {NetlinkError} a delete the kernel refuses. */
  async clear(nl: NetlinkClient): Promise<void> {
    for (const d of DIRECTIONS) {
      const link = this.links[d];
      if (this.current[d] === undefined || link === undefined) continue;
      if (link.removedWithTheLink !== true) await this.unshape(nl, link);
      this.set(d, undefined);
    }
  }

  private set(d: Direction, limit: Required<RateLimit> | undefined): void {
    if (limit === undefined) delete this.current[d];
    else this.current[d] = limit;
  }

  // Replaces the link's default root qdisc with our tbf, or changes ours; anyone else's root
  // qdisc is refused rather than replaced.
  private async shape(
    nl: NetlinkClient,
    link: ShapedLink,
    limit: Required<RateLimit>,
    ours: boolean,
  ): Promise<void> {
    if (!ours) {
      const root = await nl.tc.root(link.index);
      if (root !== undefined && root.handle !== 0 && root.handle !== RATE_QDISC_HANDLE) {
        throw new UnsupportedError(
          `${link.name} already has a root qdisc (${root.kind} ${(root.handle >>> 16).toString(16)}:) that is not vmlaunch's; it is left alone`,
        );
      }
      if (!this.txqlen.has(link.index))
        this.txqlen.set(link.index, (await nl.links.get(link.index)).txqlen);
    }
    await nl.tc.setRootTbf(link.index, RATE_QDISC_HANDLE, tbfFor(limit));
  }

  // Deletes our tbf (the kernel's default root comes back) and puts the txqueuelen back.
  // A link that is gone (ENODEV) took its qdisc along.
  private async unshape(nl: NetlinkClient, link: ShapedLink): Promise<void> {
    try {
      const root = await nl.tc.root(link.index);
      if (root?.handle === RATE_QDISC_HANDLE) await nl.tc.deleteRoot(link.index);
      const txqlen = this.txqlen.get(link.index);
      if (txqlen !== undefined && (await nl.links.get(link.index)).txqlen !== txqlen) {
        await nl.links.setTxqlen(link.index, txqlen);
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENODEV') throw error;
    }
  }
}
