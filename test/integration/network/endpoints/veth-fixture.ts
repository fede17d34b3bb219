// Fixtures of the endpoint attach tests: a `vml-` netns holding veth eth0 (addresses, routes)
// whose peer sits in a second `vml-` netns, and the netns's state as `ip -json` / `tc -json`
// show it (the oracle detach must restore exactly), independent of the code under test.
import { execFileSync } from 'node:child_process';
import { diffSnapshots, takeSnapshot, type LeakSnapshot } from '../../../helpers/leaks.js';
import { ip, ipJson, tcJson, uniqueNetnsName } from '../../../helpers/netns.js';

/** Two test netns joined by a veth: `eth0` (10.9.0.2/24) in `netns`, `peer0` (.1) in `peer`. */
export interface VethPair {
  netns: string;
  peer: string;
}

/** Runs `fn` with a fresh veth pair in two new netns; both are deleted whatever happens. */
export async function withVethPair<T>(tag: string, fn: (p: VethPair) => Promise<T>): Promise<T> {
  const netns = uniqueNetnsName(tag);
  const peer = `${netns}-p`;
  ip('netns', 'add', netns);
  try {
    ip('netns', 'add', peer);
    try {
      setUpPair(netns, peer);
      return await fn({ netns, peer });
    } finally {
      execFileSync('ip', ['netns', 'del', peer], { stdio: 'ignore' });
    }
  } finally {
    execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
  }
}

// CNI-like setup: addresses, a default route and a route with an MTU metric; no IPv6 autoconf
// noise (addrgenmode none) so packet counts and states are stable.
function setUpPair(netns: string, peer: string): void {
  ip('-n', netns, 'link', 'set', 'lo', 'up');
  ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peer);
  ip('-n', netns, 'link', 'set', 'eth0', 'addrgenmode', 'none');
  ip('-n', peer, 'link', 'set', 'peer0', 'addrgenmode', 'none');
  ip('-n', netns, 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0');
  ip('-n', netns, 'addr', 'add', 'fd00:9::2/64', 'dev', 'eth0', 'nodad');
  ip('-n', peer, 'addr', 'add', '10.9.0.1/24', 'dev', 'peer0');
  ip('-n', netns, 'link', 'set', 'eth0', 'up');
  ip('-n', peer, 'link', 'set', 'peer0', 'up');
  ip('-n', netns, 'route', 'add', 'default', 'via', '10.9.0.1');
  ip('-n', netns, 'route', 'add', '10.10.0.0/16', 'via', '10.9.0.1', 'mtu', '1400');
}

interface IpLink {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu: number;
  flags: string[];
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

/** The netns as `ip -json` and `tc -json` show it, as one comparable string per object. */
export function netnsState(netns: string): string[] {
  const out: string[] = [];
  for (const l of ipJson<IpLink[]>('-n', netns, '-d', 'link', 'show')) {
    const kind = l.linkinfo?.info_kind ?? 'plain';
    out.push(
      `link ${l.ifindex} ${l.ifname} ${kind} ${l.address} mtu ${l.mtu} [${[...l.flags].sort().join(',')}] master ${l.master ?? '-'} alias ${l.ifalias ?? '-'}`,
    );
  }
  const addrs = ipJson<{ ifname: string; addr_info: Record<string, unknown>[] }[]>(
    '-n',
    netns,
    'addr',
    'show',
  );
  for (const l of addrs) {
    for (const a of l.addr_info) {
      const { valid_life_time: _v, preferred_life_time: _p, ...rest } = a;
      out.push(`addr ${l.ifname} ${JSON.stringify(rest)}`);
    }
  }
  for (const family of ['-4', '-6']) {
    for (const r of ipJson<Record<string, unknown>[]>('-n', netns, family, 'route', 'show')) {
      out.push(`route ${JSON.stringify(r)}`);
    }
  }
  for (const q of tcJson<{ kind: string; dev: string; handle: string }[]>(
    '-n',
    netns,
    'qdisc',
    'show',
  )) {
    out.push(`qdisc ${q.dev} ${q.kind} ${q.handle}`);
    if (q.kind !== 'ingress') continue;
    const filters = tcJson<unknown[]>('-n', netns, 'filter', 'show', 'dev', q.dev, 'ingress');
    for (const f of filters) out.push(`filter ${q.dev} ${JSON.stringify(f)}`);
  }
  return out.sort();
}

/** Our fds and the links and tc objects of `netns` (the leak snapshot of docs/faults.md). */
export function leakSnapshot(netns: string): LeakSnapshot {
  return takeSnapshot({ netns: [netns], children: false, netnsFilter: (n) => n === netns });
}

/** What leaked between two leak snapshots (empty: nothing). */
export function leaksSince(before: LeakSnapshot, netns: string): string[] {
  return diffSnapshots(before, leakSnapshot(netns));
}

/** Links of `netns` by name, from `ip -json -d link`. */
export function links(netns: string): Map<string, IpLink> {
  const all = ipJson<IpLink[]>('-n', netns, '-d', 'link', 'show');
  return new Map(all.map((l) => [l.ifname, l]));
}

/** The mirred-redirect target of the ingress filters on `dev`, from `tc -json`. */
export function redirectTargets(netns: string, dev: string): string[] {
  const filters = tcJson<{ options?: { actions?: { to_dev?: string; kind?: string }[] } }[]>(
    '-n',
    netns,
    'filter',
    'show',
    'dev',
    dev,
    'ingress',
  );
  return filters.flatMap((f) => (f.options?.actions ?? []).map((a) => `${a.kind}:${a.to_dev}`));
}
