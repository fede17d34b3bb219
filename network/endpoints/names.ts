// Names and labels of the host objects attach creates: a `vml` prefix and an ifalias naming
// the NIC and our pid, so a later clean-up pass can tell our orphans from anyone else's links.
import { createHash, randomBytes } from 'node:crypto';
import { selfOwner, type JournalOwner } from '../journal/owner.js';
import { ValidationError } from '../../core/index.js';
import { bytesToMac } from '../validate.js';

/** Prefix of every link vmlaunch creates. */
export const LINK_PREFIX = 'vml';

/** What a created link is for: t = tap, m = macvtap, b = bridge. */
export type LinkRole = 't' | 'm' | 'b';

// A stable 15-byte-safe name per VM, NIC and role: two VMs' net0 in one netns never collide.
/** `vml<role><8 hex of sha256([owner/]nicId)>`, e.g. vmlt3f2a9c01 (12 bytes). */
export function linkName(nicId: string, role: LinkRole, owner?: string): string {
  const key = owner === undefined ? nicId : `${owner}/${nicId}`;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${LINK_PREFIX}${role}${hash}`;
}

// Names vmlaunch gives its own links: a user-named link of that shape could be taken for ours.
/** True for `vml<role><8 hex>`, the shape linkName() makes. */
export function isReservedLinkName(name: string): boolean {
  return new RegExp(`^${LINK_PREFIX}[tmb][0-9a-f]{8}$`).test(name);
}

// A GC reads this back: which NIC a link served and which process made it — the process by
// pid, start time and boot id, so a later process given the same pid is not taken for it.
/** The ifalias set on created links: `vmlaunch:<nicId>:<pid>:<start time>:<boot id>`. */
export function ownerAlias(nicId: string, owner: JournalOwner = selfOwner()): string {
  return `vmlaunch:${nicId}:${owner.pid}:${owner.start}:${owner.boot}`;
}

const ALIAS_RE = /^vmlaunch:([A-Za-z0-9_.-]{1,64}):(\d{1,10}):(\d{1,20}):([0-9a-f-]{1,64})$/;

// The GC's reading of a label; anything else (older labels without a start time included) is
// not ours to act on.
/** The NIC id and owner an ownerAlias() label names, or undefined for any other text. */
export function parseOwnerAlias(
  alias: string | undefined,
): { nicId: string; owner: JournalOwner } | undefined {
  const m = alias === undefined ? null : ALIAS_RE.exec(alias);
  if (!m) return undefined;
  const owner = { pid: Number(m[2]), start: Number(m[3]), boot: m[4]! };
  if (!Number.isSafeInteger(owner.start) || owner.pid < 1) return undefined;
  return { nicId: m[1]!, owner };
}

// A veth that hands its MAC to the guest needs another one that is unique and not multicast.
/** A random locally administered unicast MAC (first octet x2, x6, xa or xe). */
export function randomLocalMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytesToMac(bytes);
}

/** Longest nicId: it ends up in QEMU ids and in the 255-byte ifalias of our links. */
export const NIC_ID_MAX = 64;

// A nicId names QEMU objects and our ifalias: printable, no separators QEMU or a GC would split.
/**
 * Checks a NIC id.
 * @throws {ValidationError} 'nicId' when it is empty, too long, or has other than [A-Za-z0-9_.-].
 */
export function validateNicId(nicId: unknown): string {
  if (typeof nicId !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(nicId) || nicId.length > NIC_ID_MAX) {
    throw new ValidationError(
      'nicId',
      nicId,
      `a NIC id is 1-${NIC_ID_MAX} characters of [A-Za-z0-9_.-]`,
      'NIC_ID',
    );
  }
  return nicId;
}
