// The crash journal's entries as versioned JSON: what an attach needs to put a borrowed link
// back (its MAC, MTU, master, up state, addresses and routes with their attributes, its ingress
// filters) and the names of the links it makes, or a netns vmlaunch created. Reading is strict:
// anything malformed or unknown (a field this version does not write) is an error naming the
// field, never a half-read entry.
import { createHash } from 'node:crypto';
import { ValidationError } from '../../core/index.js';
import { validateIfName, validateMac, validateNetnsName } from '../validate.js';
import type { JournalOwner } from './owner.js';

/** The entry format this code reads and writes. */
export const JOURNAL_VERSION = 1;

/** Which netns an entry is about: how attach named it, and the netns's nsfs inode. */
export interface JournalNetns {
  /** The name under /run/netns or the absolute path attach was given; absent: the owner's own. */
  ref?: string;
  /** st_ino of the netns file: tells the netns apart from a later one at the same name. */
  ino: number;
}

/** An address as it was, every attribute rtnetlink reported. */
export interface AddressSnapshot {
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: string;
  /** IFA_F_* flags. */
  flags: number;
  label?: string;
  peer?: string;
  broadcast?: string;
}

/** A main-table route through the link, as it was. */
export interface RouteSnapshot {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  prefsrc?: string;
  metric?: number;
  protocol: number;
  scope: string;
  mtu?: number;
}

/** The link's ingress qdisc before attach: whether it had one, and its filter priorities. */
export interface IngressSnapshot {
  present: boolean;
  prefs: number[];
}

/** A borrowed link as it was before attach changed it. */
export interface LinkSnapshot {
  index: number;
  name: string;
  kind?: string;
  mac?: string;
  mtu: number;
  txqlen: number;
  up: boolean;
  masterIndex?: number;
  /** Present when the attach may change addresses (and so routes). */
  addresses?: AddressSnapshot[];
  routes?: RouteSnapshot[];
  /** Present when the attach adds tc objects to the link. */
  ingress?: IngressSnapshot;
}

/** The kinds of links attach creates next to a borrowed one. */
export type CreatedKind = 'tun' | 'macvtap' | 'bridge';

/** A link the attach will create, by name (it may die before labelling it). */
export interface CreatedLink {
  name: string;
  kind: CreatedKind;
}

/** An attach that changes a link it does not own. */
export interface BorrowedLinkEntry {
  version: typeof JOURNAL_VERSION;
  kind: 'borrowed-link';
  owner: JournalOwner;
  /** Date.now() when written: entries on one link are undone newest first. */
  at: number;
  nicId: string;
  /** AttachContext.owner (the VM's id), when given. */
  vm?: string;
  netns: JournalNetns;
  link: LinkSnapshot;
  creates: CreatedLink[];
}

/** A named netns vmlaunch created (deleted by the GC once its creator is dead). */
export interface NetnsEntry {
  version: typeof JOURNAL_VERSION;
  kind: 'netns';
  owner: JournalOwner;
  at: number;
  name: string;
  /** The netns's nsfs inode; absent while creation was still under way. */
  ino?: number;
}

/** One journal entry. */
export type JournalEntry = BorrowedLinkEntry | NetnsEntry;

// One file per (owner pid, NIC) — with the VM and netns hashed in, since NIC ids repeat across
// VMs — or per (owner pid, netns name). The pid leads so a reader can match it to the owner.
/** `<pid>-<nicId>-<8 hex>.link.json` or `<pid>-<name>.netns.json`. */
export function entryFileName(entry: JournalEntry): string {
  if (entry.kind === 'netns') return `${entry.owner.pid}-${entry.name}.netns.json`;
  const key = [entry.vm ?? '', entry.netns.ref ?? '', entry.netns.ino, entry.nicId].join('\n');
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${entry.owner.pid}-${entry.nicId}-${hash}.link.json`;
}

/** Serialises an entry (compact: it is written on the attach path). */
export function encodeEntry(entry: JournalEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

type Obj = Record<string, unknown>;

// A tiny field reader: every check names its full path ('entry.link.addresses[1].flags'), and
// close() refuses any field no check asked for (a field this version does not know).
class Reader {
  private readonly seen = new Set<string>();
  constructor(
    private readonly o: Obj,
    readonly path: string,
  ) {}
  private bad(key: string, why: string): never {
    throw new ValidationError(`${this.path}.${key}`, this.o[key], why, 'JOURNAL_ENTRY');
  }
  has(key: string): boolean {
    this.seen.add(key);
    return this.o[key] !== undefined;
  }
  // Returns `value` once every field of the object has been read.
  close<T>(value: T): T {
    for (const key of Object.keys(this.o)) {
      if (!this.seen.has(key)) this.bad(key, 'no such field in this entry format');
    }
    return value;
  }
  int(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    this.seen.add(key);
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      this.bad(key, `an integer from ${min} to ${max}`);
    return v;
  }
  str(key: string, check?: (v: string, path: string) => unknown): string {
    this.seen.add(key);
    const v = this.o[key];
    if (typeof v !== 'string' || v === '') this.bad(key, 'a non-empty string');
    check?.(v, `${this.path}.${key}`);
    return v;
  }
  bool(key: string): boolean {
    this.seen.add(key);
    const v = this.o[key];
    if (typeof v !== 'boolean') this.bad(key, 'true or false');
    return v;
  }
  oneOf<T extends string | number>(key: string, values: readonly T[]): T {
    this.seen.add(key);
    const v = this.o[key] as T;
    if (!values.includes(v)) this.bad(key, `one of ${values.join(', ')}`);
    return v;
  }
  obj(key: string): Reader {
    this.seen.add(key);
    const v = this.o[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(key, 'an object');
    return new Reader(v as Obj, `${this.path}.${key}`);
  }
  list<T>(key: string, item: (r: Reader) => T): T[] {
    this.seen.add(key);
    const v = this.o[key];
    if (!Array.isArray(v)) this.bad(key, 'an array');
    return v.map((x, i) => {
      const at = `${this.path}.${key}[${i}]`;
      if (typeof x !== 'object' || x === null || Array.isArray(x))
        throw new ValidationError(at, x, 'an object', 'JOURNAL_ENTRY');
      const r = new Reader(x as Obj, at);
      return r.close(item(r));
    });
  }
  ints(key: string, min: number, max: number): number[] {
    this.seen.add(key);
    const v = this.o[key];
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= min && x <= max))
      this.bad(key, `an array of integers from ${min} to ${max}`);
    return v as number[];
  }
  // An optional field: absent stays absent (no `undefined` keys in the result).
  opt<K extends string, T>(key: K, read: (key: string) => T): { [P in K]?: T } {
    return (this.has(key) ? { [key]: read(key) } : {}) as { [P in K]?: T };
  }
}

const U32 = 0xffffffff;
const FAMILIES = [4, 6] as const;

function readOwner(r: Reader): JournalOwner {
  return r.close({
    pid: r.int('pid', 1, 0x7fffffff),
    start: r.int('start'),
    boot: r.str('boot'),
  });
}

function readAddress(r: Reader): AddressSnapshot {
  return {
    family: r.oneOf('family', FAMILIES),
    address: r.str('address'),
    prefixLen: r.int('prefixLen', 0, 128),
    scope: r.str('scope'),
    flags: r.int('flags', 0, U32),
    ...r.opt('label', (k) => r.str(k)),
    ...r.opt('peer', (k) => r.str(k)),
    ...r.opt('broadcast', (k) => r.str(k)),
  };
}

function readRoute(r: Reader): RouteSnapshot {
  return {
    family: r.oneOf('family', FAMILIES),
    dst: r.str('dst'),
    ...r.opt('gateway', (k) => r.str(k)),
    ...r.opt('prefsrc', (k) => r.str(k)),
    ...r.opt('metric', (k) => r.int(k, 0, U32)),
    protocol: r.int('protocol', 0, 255),
    scope: r.str('scope'),
    ...r.opt('mtu', (k) => r.int(k, 0, U32)),
  };
}

function readLink(r: Reader): LinkSnapshot {
  return r.close({
    index: r.int('index', 1, 0x7fffffff),
    name: r.str('name', validateIfName),
    ...r.opt('kind', (k) => r.str(k)),
    ...r.opt('mac', (k) => r.str(k, validateMac)),
    mtu: r.int('mtu', 0, U32),
    txqlen: r.int('txqlen', 0, U32),
    up: r.bool('up'),
    ...r.opt('masterIndex', (k) => r.int(k, 1, 0x7fffffff)),
    ...r.opt('addresses', (k) => r.list(k, readAddress)),
    ...r.opt('routes', (k) => r.list(k, readRoute)),
    ...r.opt('ingress', (k) => {
      const i = r.obj(k);
      return i.close({ present: i.bool('present'), prefs: i.ints('prefs', 1, 0xffff) });
    }),
  });
}

function readCreated(r: Reader): CreatedLink {
  return {
    name: r.str('name', validateIfName),
    kind: r.oneOf('kind', ['tun', 'macvtap', 'bridge']),
  };
}

function readNetns(r: Reader): JournalNetns {
  const ref = r.has('ref')
    ? r.str('ref', (v, p) => (v.startsWith('/') ? v : validateNetnsName(v, p)))
    : undefined;
  return r.close({ ...(ref === undefined ? {} : { ref }), ino: r.int('ino', 1) });
}

// The common head, then the kind's own fields.
function readEntry(r: Reader): JournalEntry {
  const version = r.oneOf('version', [JOURNAL_VERSION]);
  const kind = r.oneOf('kind', ['borrowed-link', 'netns'] as const);
  const head = { version, owner: readOwner(r.obj('owner')), at: r.int('at') };
  if (kind === 'netns') {
    return r.close({
      ...head,
      kind,
      name: r.str('name', validateNetnsName),
      ...r.opt('ino', (k) => r.int(k, 1)),
    });
  }
  return r.close({
    ...head,
    kind,
    nicId: r.str('nicId', (v, p) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw new ValidationError(p, v, 'not a NIC id');
    }),
    ...r.opt('vm', (k) => r.str(k)),
    netns: readNetns(r.obj('netns')),
    link: readLink(r.obj('link')),
    creates: r.list('creates', readCreated),
  });
}

// The GC reads entries that a crash may have cut short or someone may have edited.
/**
 * Parses an entry's text.
 * @throws {ValidationError} code JOURNAL_ENTRY naming the field ('entry.link.mac'), or JSON
 *   for text that is not JSON.
 */
export function parseEntry(text: string): JournalEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('entry', text.slice(0, 40), (error as Error).message, 'JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('entry', value, 'an object', 'JOURNAL_ENTRY');
  return readEntry(new Reader(value as Obj, 'entry'));
}
