// Benchmark `npm run bench:endpoints`: 50 rounds of attach + detach of a tcfilter veth endpoint
// (a tap next to the veth, alias, MTU, up, ingress qdiscs on both, mirred redirects both ways,
// then all of it removed) through vmlaunch's attachEndpoint (rtnetlink + the addon's tap open),
// against the same plumbing done by one `ip` or `tc` process per step, in one run. Ours runs
// twice: handing the tap fds to a closing thread (the kernel's teardown wait runs there; detach
// resolves once the tap has left the netns) and closing them inline (waiting for the teardown,
// as `ip link del` does). Rounds rotate between the three; everything lives in two vml- netns
// this script creates and always deletes. The netns is compared before/after, once every
// background teardown has ended. Last line: `endpoint-speedup-vs-ip: <median ip / median ours>`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as native from '../native/index.js';
import { attachEndpoint } from '../network/endpoints/attach.js';
import { backgroundRemovals } from '../network/netlink/index.js';
import { linkName, ownerAlias } from '../network/endpoints/names.js';
import type { TapHostNic } from '../network/host-nic.js';
import { BenchReport } from './report.js';

const bench = new BenchReport('endpoints', {
  what: 'attach + detach of a tcfilter veth endpoint (tap, alias, MTU, up, ingress qdiscs, mirred both ways, removal) through attachEndpoint',
  baseline: 'the same plumbing by one `ip` or `tc` process per step, rounds rotating',
});

const ROUNDS = 50;
const WARMUP_ROUNDS = 3;
const NIC = 'bench0';
const TAP = linkName(NIC, 't');

// Runs a command, failing loudly (a benchmark that silently measures errors is worthless).
function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

// Where the time of each method goes: our attach / fd close (the kernel tearing the tap down)
// / detach, and the `ip link del` of the baseline (the same kernel teardown plus a spawn).
const phases = new Map<string, number[]>();
function phase(name: string, t0: number): number {
  const now = performance.now();
  phases.set(name, [...(phases.get(name) ?? []), now - t0]);
  return now;
}

// Ours: attach, then hand the queue fds back (as QEMU's exit would), then detach. The fds are
// closed on a thread of their own (closeDetached): the kernel's tap teardown and its RCU wait
// run there, and detach resolves once the tap has left the netns (RTM_DELLINK).
async function oursRound(netns: string, detached: boolean): Promise<void> {
  let t = performance.now();
  const a = await attachEndpoint(
    { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
    { netns, nicId: NIC, vhostNet: 'off' },
  );
  t = phase(`ours${detached ? '' : ' (closing fds inline)'}: attach`, t);
  const fds = (a.hostNic as TapHostNic).tapFds;
  if (detached) native.closeDetached(fds);
  else native.closeAll(fds);
  t = phase(
    detached
      ? 'ours: hand the tap fds to a closing thread'
      : 'ours (closing fds inline): close the tap fds (kernel tap teardown)',
    t,
  );
  await a.detach();
  phase(`ours${detached ? '' : ' (closing fds inline)'}: detach`, t);
}

// The same steps, one `ip` / `tc` process each (a persistent tap: `ip` cannot hold fds).
function ipRound(netns: string): void {
  const ip = (...a: string[]): string => run('ip', ['-n', netns, ...a]);
  const tc = (...a: string[]): string => run('tc', ['-n', netns, ...a]);
  const [veth] = JSON.parse(ip('-json', 'link', 'show', 'eth0')) as { mtu: number }[];
  ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  ip('link', 'set', 'dev', TAP, 'alias', ownerAlias(NIC));
  ip('link', 'set', 'dev', TAP, 'mtu', String(veth!.mtu));
  ip('link', 'set', 'dev', TAP, 'up');
  tc('qdisc', 'add', 'dev', 'eth0', 'ingress');
  tc('qdisc', 'add', 'dev', TAP, 'ingress');
  for (const [from, to] of [
    ['eth0', TAP],
    [TAP, 'eth0'],
  ] as const) {
    tc(
      'filter',
      'add',
      'dev',
      from,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'pref',
      '49152',
      'u32',
      'match',
      'u8',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      to,
    );
  }
  tc('filter', 'del', 'dev', TAP, 'parent', 'ffff:', 'pref', '49152');
  tc('filter', 'del', 'dev', 'eth0', 'parent', 'ffff:', 'pref', '49152');
  tc('qdisc', 'del', 'dev', TAP, 'ingress');
  tc('qdisc', 'del', 'dev', 'eth0', 'ingress');
  const t = performance.now();
  ip('link', 'del', 'dev', TAP);
  phase('ip: link del (kernel tap teardown + spawn)', t);
}

// Milliseconds one call takes.
async function time(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// One line per method: median and p90 per round, total over the rounds.
function report(label: string, ms: number[]): void {
  const sorted = [...ms].sort((a, b) => a - b);
  const total = ms.reduce((s, v) => s + v, 0);
  console.log(
    `${label}: median ${median(ms).toFixed(2)} ms/round, p90 ${sorted[Math.floor(ms.length * 0.9)]!.toFixed(2)} ms, total ${total.toFixed(0)} ms over ${ms.length} rounds`,
  );
}

async function main(): Promise<void> {
  const netns = `vml-bench-ep-${randomBytes(4).toString('hex')}`;
  const peer = `${netns}-p`;
  run('ip', ['netns', 'add', netns]);
  try {
    run('ip', ['netns', 'add', peer]);
    try {
      run('ip', [
        '-n',
        netns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        'p0',
        'netns',
        peer,
      ]);
      run('ip', ['-n', netns, 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0']);
      run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', peer, 'link', 'set', 'p0', 'up']);
      const before = run('ip', ['-n', netns, '-d', 'link']) + run('tc', ['-n', netns, 'qdisc']);
      for (let i = 0; i < WARMUP_ROUNDS; i++) {
        await oursRound(netns, true);
        await oursRound(netns, false);
        ipRound(netns);
      }
      await backgroundRemovals();
      phases.clear();
      const ours: number[] = [];
      const inline: number[] = [];
      const viaIp: number[] = [];
      const turns = [
        async () => ours.push(await time(() => oursRound(netns, true))),
        async () => inline.push(await time(() => oursRound(netns, false))),
        async () => viaIp.push(await time(() => ipRound(netns))),
      ];
      for (let i = 0; i < ROUNDS; i++) {
        for (let j = 0; j < turns.length; j++) {
          await turns[(i + j) % turns.length]!();
          // Untimed: a teardown still running behind a round never slows the next method.
          await backgroundRemovals();
        }
      }
      const after = run('ip', ['-n', netns, '-d', 'link']) + run('tc', ['-n', netns, 'qdisc']);
      if (after !== before) throw new Error(`the bench netns changed:\n${before}\n---\n${after}`);
      for (const [name, ms] of phases) console.log(`  ${name}: median ${median(ms).toFixed(2)} ms`);
      report('vmlaunch attachEndpoint+detach, fds closed by a thread', ours);
      report('vmlaunch attachEndpoint+detach, fds closed inline', inline);
      report('ip/tc process per step (15 spawns)', viaIp);
      // Waiting for the kernel's tap teardown (rcu_barrier in netdev_run_todo), as inline closing
      // and `ip link del` do, no client could beat this ratio here.
      const teardown = median(
        phases.get('ours (closing fds inline): close the tap fds (kernel tap teardown)') ?? [0],
      );
      console.log(
        `ceiling when waiting for the teardown: ${(median(viaIp) / teardown).toFixed(2)}x ` +
          `(ip round ${median(viaIp).toFixed(1)} ms / kernel tap teardown ${teardown.toFixed(1)} ms alone)`,
      );
      console.log(`closing inline: speedup vs ip ${(median(viaIp) / median(inline)).toFixed(2)}`);
      bench.samples('attachEndpoint + detach, fds closed by a thread', ours);
      bench.samples('attachEndpoint + detach, fds closed inline', inline);
      bench.samples('ip/tc process per step (baseline)', viaIp);
      bench.ratio(
        'endpoint-speedup-vs-ip',
        median(viaIp) / median(ours),
        'median ip/tc round / median ours (above 1 means faster)',
      );
      bench.write();
    } finally {
      execFileSync('ip', ['netns', 'del', peer], { stdio: 'ignore' });
    }
  } finally {
    execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
  }
}

await main();
