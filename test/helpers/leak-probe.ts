// The leak snapshot of docs/faults.md, cheap enough to take after every soak cycle (a few ms):
// links and tc read over netlink sockets opened once per netns (no `ip`/`tc` process), our fds,
// netns and children from /proc, and QEMU's side from /proc/<pid>/fd and QMP. The `ip`/`tc`
// snapshot of leaks.ts stays the independent oracle; soak tests consult it less often.
import { readdirSync, readlinkSync } from 'node:fs';
import {
  RTM_GETTFILTER,
  RTM_NEWTFILTER,
  TCA_KIND,
  TCMSG_LEN,
} from '../../network/netlink/constants.js';
import { attrMap, readString } from '../../network/netlink/attributes.js';
import { openNetlink, type NetlinkClient } from '../../network/netlink/index.js';
import { decodeTcMsg, encodeTcMsg } from '../../network/netlink/message.js';
import type { Vm } from '../../launcher/vm.js';
import { childProcesses, diffSnapshots, netnsList, openFds, type LeakSnapshot } from './leaks.js';

/** What the probe covers. */
export interface ProbeOptions {
  /** Named netns whose links, qdiscs and filters are read. */
  netns: string[];
  /** Which /run/netns entries count (others' tests make netns in parallel). */
  netnsFilter: (name: string) => boolean;
}

/** A host snapshot (the shape diffSnapshots compares) plus our active libuv handles. */
export interface ProbeSnapshot extends LeakSnapshot {
  /** process.getActiveResourcesInfo(), sorted ('TCPWrap', 'Timeout'...). */
  handles: string[];
}

const hex = (n: number): string => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;

// 'name kind[ master N][ UP]' per link, as leaks.ts renders `ip -d link` (master by index).
async function linkLines(
  nl: NetlinkClient,
): Promise<{ lines: string[]; names: Map<number, string> }> {
  const links = await nl.links.list();
  const names = new Map(links.map((l) => [l.index, l.name]));
  const lines = links.map((l) => {
    const master =
      l.masterIndex === undefined ? '' : ` master ${names.get(l.masterIndex) ?? l.masterIndex}`;
    return `${l.name} ${l.kind ?? 'plain'}${master}${l.up ? ' UP' : ''}`;
  });
  return { lines: lines.sort(), names };
}

// Every qdisc, and every filter (of any kind) under each qdisc that has a handle.
async function tcLines(nl: NetlinkClient, names: Map<number, string>): Promise<string[]> {
  const lines: string[] = [];
  for (const q of await nl.tc.listQdiscs()) {
    const dev = names.get(q.index) ?? `#${q.index}`;
    lines.push(`qdisc ${q.kind} ${hex(q.handle)} dev ${dev} parent ${hex(q.parent)}`);
    if (q.handle === 0) continue;
    const parts = await nl.socket.dump(
      RTM_GETTFILTER,
      [encodeTcMsg({ index: q.index, parent: q.handle })],
      `filter show dev ${dev} parent ${hex(q.handle)}`,
    );
    for (const m of parts) {
      if (m.type !== RTM_NEWTFILTER) continue;
      const h = decodeTcMsg(m.payload);
      const kind = readString(attrMap(m.payload, TCMSG_LEN).get(TCA_KIND)) ?? '?';
      lines.push(
        `filter ${kind} dev ${dev} parent ${hex(q.handle)} pref ${h.info >>> 16} handle ${h.handle.toString(16)}`,
      );
    }
  }
  return lines.sort();
}

/** The cheap per-cycle snapshot; open once, take after every cycle, close at the end. */
export class LeakProbe {
  private constructor(
    private readonly clients: Map<string, NetlinkClient>,
    private readonly netnsFilter: (name: string) => boolean,
  ) {}

  // Opens one netlink socket per netns (they are part of every snapshot, baseline included).
  static open(options: ProbeOptions): LeakProbe {
    const clients = new Map<string, NetlinkClient>();
    try {
      for (const ns of options.netns) clients.set(ns, openNetlink(ns));
    } catch (error) {
      for (const nl of clients.values()) void nl.close();
      throw error;
    }
    return new LeakProbe(clients, options.netnsFilter);
  }

  /** Our fds, handles, children, the netns list, and links and tc of each netns. */
  async snapshot(): Promise<ProbeSnapshot> {
    const links = new Map<string, string[]>();
    const tc = new Map<string, string[]>();
    for (const [ns, nl] of this.clients) {
      const l = await linkLines(nl);
      links.set(ns, l.lines);
      tc.set(ns, await tcLines(nl, l.names));
    }
    return {
      fds: openFds(),
      netns: netnsList().filter(this.netnsFilter),
      links,
      tc,
      children: childProcesses(),
      handles: process.getActiveResourcesInfo().sort(),
    };
  }

  /** Closes the netlink sockets. */
  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((nl) => nl.close()));
  }
}

/** diffSnapshots plus the handles: '+ what' appeared, '- what' vanished. */
export function diffProbe(before: ProbeSnapshot, after: ProbeSnapshot): string[] {
  const out = diffSnapshots(before, after);
  const remaining = [...after.handles];
  for (const h of before.handles) {
    const i = remaining.indexOf(h);
    if (i >= 0) remaining.splice(i, 1);
    else out.push(`handle: - ${h}`);
  }
  for (const h of remaining) out.push(`handle: + ${h}`);
  return out;
}

/** QEMU's side of a leak: what its fds point at, its peripheral devices, its fd sets. */
export interface QemuSide {
  /** Sorted link targets of /proc/<qemu>/fd, inode numbers dropped ('socket', '/dev/net/tun'). */
  fds: string[];
  /** Names under /machine/peripheral (devices with an id). */
  peripherals: string[];
  /** query-fdsets, as JSON. */
  fdsets: string;
}

// 'socket:[123]' -> 'socket', 'anon_inode:[eventfd]' stays: the kind is what must not grow.
// The jail's id lease (one file per uid, docs/confinement.md) counts as one kind.
function fdKind(target: string): string {
  return target
    .replace(/^(socket|pipe|net):\[\d+\]$/, '$1')
    .replace(/\/\.jail-ids\/\d+$/, '/.jail-ids/<uid>');
}

/** QEMU's fds (from /proc), peripherals and fd sets (over QMP). */
export async function qemuSide(vm: Vm): Promise<QemuSide> {
  const fds: string[] = [];
  for (const fd of readdirSync(`/proc/${vm.pid}/fd`)) {
    try {
      fds.push(fdKind(readlinkSync(`/proc/${vm.pid}/fd/${fd}`)));
    } catch {
      // closed between readdir and readlink
    }
  }
  const peripherals = (await vm.qmp.qomList({ path: '/machine/peripheral' })).map((p) => p.name);
  const fdsets = JSON.stringify(await vm.qmp.queryFdsets());
  return { fds: fds.sort(), peripherals: peripherals.sort(), fdsets };
}

/** Readable differences of QEMU's side; empty when nothing leaked. */
export function diffQemuSide(before: QemuSide, after: QemuSide): string[] {
  const out: string[] = [];
  const list = (label: string, a: string[], b: string[]): void => {
    const remaining = [...b];
    for (const x of a) {
      const i = remaining.indexOf(x);
      if (i >= 0) remaining.splice(i, 1);
      else out.push(`${label}: - ${x}`);
    }
    for (const x of remaining) out.push(`${label}: + ${x}`);
  };
  list('QEMU fd', before.fds, after.fds);
  list('QEMU peripheral', before.peripherals, after.peripherals);
  if (before.fdsets !== after.fdsets) out.push(`QEMU fdsets: ${before.fdsets} -> ${after.fdsets}`);
  return out;
}
