// The leak snapshot of docs/faults.md for tests: take one before, one after, and diff them.
// Reads the kernel's own views (/proc, `ip -json`, `tc -json`), never the code under test.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { ipJson, tcJson } from './netns.js';

/** What a snapshot covers; every field is optional so each suite takes what it needs. */
export interface SnapshotOptions {
  /** Named netns whose links, qdiscs and filters are listed. */
  netns?: string[];
  /** Also list the links of the host (our own) netns. */
  hostLinks?: boolean;
  /** Also list our child processes (default true). */
  children?: boolean;
  /** Which /run/netns entries count (default: all). Others create netns in parallel: pass your
   *  own test's prefix so their work does not show up as your leak. */
  netnsFilter?: (name: string) => boolean;
}

/** One moment's view of everything a test could leak. */
export interface LeakSnapshot {
  /** fd number -> link target ('/dev/net/tun', 'socket:[123]', 'net:[4026...]'). */
  fds: Map<number, string>;
  /** Entries of /run/netns. */
  netns: string[];
  /** Per netns ('' = host): one line per link, e.g. 'vt0 tun UP'. */
  links: Map<string, string[]>;
  /** Per netns: one line per qdisc and per filter. */
  tc: Map<string, string[]>;
  /** Our child processes: 'pid comm (state)'. */
  children: string[];
}

/** Our open fds and what each points at, from /proc/self/fd. */
export function openFds(): Map<number, string> {
  const fds = new Map<number, string>();
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      fds.set(Number(entry), readlinkSync(`/proc/self/fd/${entry}`));
    } catch {
      // The fd readdir itself used is closed by now: not ours to report.
    }
  }
  return fds;
}

/** Names under /run/netns (what `ip netns list` shows), sorted. */
export function netnsList(): string[] {
  try {
    return readdirSync('/run/netns').sort();
  } catch {
    return [];
  }
}

interface IpLink {
  ifname: string;
  flags?: string[];
  master?: string;
  link?: string;
  linkinfo?: { info_kind?: string };
}

// `ip -n NS -j -d link` rendered one line per link: name, kind, master, UP or not.
function linkLines(netns: string): string[] {
  const args = netns === '' ? [] : ['-n', netns];
  const links = ipJson<IpLink[]>(...args, '-d', 'link', 'show');
  return links
    .map((l) => {
      const kind = l.linkinfo?.info_kind ?? 'plain';
      const master = l.master === undefined ? '' : ` master ${l.master}`;
      const up = l.flags?.includes('UP') === true ? ' UP' : '';
      return `${l.ifname} ${kind}${master}${up}`;
    })
    .sort();
}

interface TcObject {
  kind: string;
  handle?: string;
  parent?: string;
  dev?: string;
  pref?: number;
  options?: unknown;
}

// qdiscs of every link of `netns`, and the filters under each classful or ingress qdisc.
function tcLines(netns: string): string[] {
  const lines: string[] = [];
  const qdiscs = tcJson<TcObject[]>('-n', netns, 'qdisc', 'show');
  for (const q of qdiscs) {
    lines.push(
      `qdisc ${q.kind} ${q.handle ?? ''} dev ${q.dev ?? '?'} parent ${q.parent ?? 'root'}`,
    );
    if (q.dev === undefined || q.handle === undefined || q.handle === '0:') continue;
    const filters = tcJson<TcObject[]>(
      '-n',
      netns,
      'filter',
      'show',
      'dev',
      q.dev,
      'parent',
      q.handle,
    );
    for (const f of filters) {
      lines.push(
        `filter ${f.kind} dev ${q.dev} parent ${q.handle} pref ${f.pref ?? '?'} ${JSON.stringify(f.options ?? {})}`,
      );
    }
  }
  return lines.sort();
}

/** Our direct child processes (from /proc/<pid>/stat, by ppid); zombies are marked. Running vs
 *  sleeping (R/S/D) is not part of the identity: it changes by the millisecond. */
export function childProcesses(pid = process.pid): string[] {
  const children: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // comm is in parentheses and may contain spaces: parse after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === pid) children.push(`${entry} ${comm}${state === 'Z' ? ' (zombie)' : ''}`);
  }
  return children.sort();
}

/** Takes the snapshot; `ip`/`tc` children it spawns have exited before it returns. */
export function takeSnapshot(options: SnapshotOptions = {}): LeakSnapshot {
  const links = new Map<string, string[]>();
  const tc = new Map<string, string[]>();
  if (options.hostLinks === true) links.set('', linkLines(''));
  for (const ns of options.netns ?? []) {
    links.set(ns, linkLines(ns));
    tc.set(ns, tcLines(ns));
  }
  return {
    fds: openFds(),
    netns: netnsList().filter(options.netnsFilter ?? (() => true)),
    links,
    tc,
    children: options.children === false ? [] : childProcesses(),
  };
}

// Lines only in `after` are '+ what', lines only in `before` are '- what'.
function diffLists(label: string, before: string[], after: string[]): string[] {
  const out: string[] = [];
  const remaining = [...after];
  for (const line of before) {
    const i = remaining.indexOf(line);
    if (i >= 0) remaining.splice(i, 1);
    else out.push(`${label}: - ${line}`);
  }
  for (const line of remaining) out.push(`${label}: + ${line}`);
  return out;
}

/** Readable differences between two snapshots; empty when nothing leaked or vanished. */
export function diffSnapshots(before: LeakSnapshot, after: LeakSnapshot): string[] {
  const out: string[] = [];
  for (const [fd, target] of after.fds) {
    const was = before.fds.get(fd);
    if (was === undefined) out.push(`fd ${fd}: + ${target}`);
    else if (was !== target) out.push(`fd ${fd}: ${was} -> ${target}`);
  }
  for (const [fd, target] of before.fds) {
    if (!after.fds.has(fd)) out.push(`fd ${fd}: - ${target}`);
  }
  out.push(...diffLists('netns', before.netns, after.netns));
  for (const ns of new Set([...before.links.keys(), ...after.links.keys()])) {
    const where = ns === '' ? 'host' : ns;
    out.push(
      ...diffLists(`links in ${where}`, before.links.get(ns) ?? [], after.links.get(ns) ?? []),
    );
  }
  for (const ns of new Set([...before.tc.keys(), ...after.tc.keys()])) {
    out.push(...diffLists(`tc in ${ns}`, before.tc.get(ns) ?? [], after.tc.get(ns) ?? []));
  }
  out.push(...diffLists('child', before.children, after.children));
  return out;
}
