// Benchmark: 100 rounds of (create a veth whose peer is born in a second netns, set MTU, set
// up, add an address, delete) through our rtnetlink client, against one `ip` process per
// operation, and against a single `ip -batch`. Our client runs twice: with the delete resolving
// once the veth has left the netns (`until: 'unlisted'`, RTM_DELLINK; the kernel's RCU wait
// then ends on a thread of its own, as the endpoint layer removes links), and with the delete
// waiting for the kernel's ACK like `ip` does. Everything lives in two vml- netns this script
// creates and always deletes; the host netns is never touched.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { backgroundRemovals, openNetlink } from '../network/netlink/index.js';
import { BenchReport } from './report.js';

const bench = new BenchReport('netlink', {
  what: 'veth create (peer in a second netns), set MTU, up, address, delete through our rtnetlink client',
  baseline: 'one `ip` process per operation, and a single `ip -batch`, rounds in ABBA order',
});

const ROUNDS = 100;
const OPS_PER_ROUND = 5;
const WARMUP_ROUNDS = 5;
const MTU = 1400;
const ADDRESS = '10.77.0.1/24';
const OP_NAMES = ['add veth', 'set mtu', 'set up', 'add addr', 'delete'] as const;

// Per-operation times (ms) of each method, for the breakdown that shows where the time goes.
const samples = new Map<string, number[]>();
function record(method: string, op: number, ms: number): void {
  const key = `${method}/${OP_NAMES[op]}`;
  samples.set(key, [...(samples.get(key) ?? []), ms]);
}
function medianOf(method: string, op: number): number {
  const values = [...(samples.get(`${method}/${OP_NAMES[op]}`) ?? [0])].sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

// Runs `ip` with arguments, failing loudly.
function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

// The five `ip` commands of one round (without the `ip -n NS` prefix).
function roundCommands(i: number, peerNs: string): string[][] {
  const name = `vml-b${i}`;
  return [
    ['link', 'add', name, 'type', 'veth', 'peer', 'name', `vml-p${i}`, 'netns', peerNs],
    ['link', 'set', 'dev', name, 'mtu', String(MTU)],
    ['link', 'set', 'dev', name, 'up'],
    ['addr', 'add', ADDRESS, 'dev', name],
    ['link', 'del', 'dev', name],
  ];
}

// One method: our client, sequential awaited requests; later operations use the ifindex the
// kernel echoed back on creation (no name lookups).
async function viaClient(
  ns: string,
  peerNs: string,
  first: number,
  rounds: number,
  until: 'ack' | 'unlisted',
): Promise<void> {
  const method = until === 'ack' ? 'ours-ack' : 'ours';
  const c = openNetlink(ns);
  try {
    for (let i = first; i < first + rounds; i++) {
      let t = performance.now();
      const lap = (op: number): void => {
        const now = performance.now();
        record(method, op, now - t);
        t = now;
      };
      const link = await c.links.addVeth({
        name: `vml-b${i}`,
        peer: { name: `vml-p${i}`, netns: peerNs },
      });
      lap(0);
      await c.links.setMtu(link.index, MTU);
      lap(1);
      await c.links.setUp(link.index);
      lap(2);
      await c.addresses.add(link.index, ADDRESS);
      lap(3);
      await c.links.delete(link.index, { until });
      lap(4);
    }
  } finally {
    await c.close();
  }
}

// One method: an `ip` process per operation.
function viaIpPerOp(ns: string, peerNs: string, first: number, rounds: number): void {
  for (let i = first; i < first + rounds; i++) {
    for (const [op, cmd] of roundCommands(i, peerNs).entries()) {
      const t = performance.now();
      ip('-n', ns, ...cmd);
      record('ip', op, performance.now() - t);
    }
  }
}

// One method: a single `ip -batch -` reading every operation from stdin.
function viaIpBatch(ns: string, peerNs: string, first: number, rounds: number): void {
  const lines: string[] = [];
  for (let i = first; i < first + rounds; i++)
    lines.push(...roundCommands(i, peerNs).map((c) => c.join(' ')));
  execFileSync('ip', ['-n', ns, '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
}

type Method = (first: number, rounds: number) => Promise<void> | void;

// Times each method over ROUNDS rounds, twice, in ABBA order (A B C C B A) so that drift in
// the kernel's delete cost (RCU grace periods, other load) hits every method alike; returns the
// mean of each method's two runs, in ms. `ip -batch` stays one process per run of 100 rounds.
async function timeAbba(methods: Method[]): Promise<number[]> {
  for (const run of methods) await run(0, WARMUP_ROUNDS);
  const totals = methods.map(() => 0);
  const order = [...methods.keys(), ...[...methods.keys()].reverse()];
  for (const [pass, k] of order.entries()) {
    const t0 = performance.now();
    await methods[k]!(WARMUP_ROUNDS + pass * ROUNDS, ROUNDS);
    totals[k]! += performance.now() - t0;
    // Untimed: the kernel's RCU waits still running behind 'unlisted' deletes end before the
    // next method starts, so they never slow another method down.
    await backgroundRemovals();
  }
  return totals.map((t) => t / 2);
}

// Prints one result line.
function report(label: string, totalMs: number): number {
  const perOp = totalMs / (ROUNDS * OPS_PER_ROUND);
  console.log(
    `${label}: total ${totalMs.toFixed(1)} ms, ${perOp.toFixed(3)} ms/op (${ROUNDS} rounds x ${OPS_PER_ROUND} ops, mean of 2 runs)`,
  );
  return perOp;
}

// Creates the two namespaces, runs the three methods, and always removes the namespaces.
async function main(): Promise<void> {
  const tag = randomBytes(4).toString('hex');
  const ns = `vml-bench-${tag}-a`;
  const peerNs = `vml-bench-${tag}-b`;
  const created: string[] = [];
  try {
    for (const name of [ns, peerNs]) {
      ip('netns', 'add', name);
      created.push(name);
    }
    const [ours, oursAck, ipPerOp, ipBatch] = (await timeAbba([
      (first, n) => viaClient(ns, peerNs, first, n, 'unlisted'),
      (first, n) => viaClient(ns, peerNs, first, n, 'ack'),
      (first, n) => viaIpPerOp(ns, peerNs, first, n),
      (first, n) => viaIpBatch(ns, peerNs, first, n),
    ])) as [number, number, number, number];
    const oursPerOp = report('netlink-client (delete until unlisted)', ours);
    const oursAckPerOp = report('netlink-client (delete waits for the ACK)', oursAck);
    const ipPerOpPerOp = report('ip-per-op', ipPerOp);
    report('ip-batch', ipBatch);
    for (const [op, name] of OP_NAMES.entries()) {
      const a = medianOf('ours', op);
      const b = medianOf('ip', op);
      const c = medianOf('ours-ack', op);
      console.log(
        `  ${name.padEnd(9)} median: ours ${a.toFixed(3)} ms (waiting for the ACK ${c.toFixed(3)}), ip ${b.toFixed(3)} ms, speedup ${(b / a).toFixed(1)}x`,
      );
    }
    // What waiting for the ACK would allow: the veth delete's kernel time (netdev_run_todo waits
    // in rcu_barrier) is paid by every method that waits for it.
    const kernelDelete = medianOf('ours-ack', OP_NAMES.indexOf('delete'));
    const ipRound = ipPerOp / ROUNDS;
    console.log(
      `ceiling when waiting for the ACK: ${(ipRound / kernelDelete).toFixed(2)}x ` +
        `(ip round ${ipRound.toFixed(1)} ms / kernel veth delete ${kernelDelete.toFixed(1)} ms alone)`,
    );
    console.log(
      `waiting for the ACK: speedup vs ip ${(ipPerOpPerOp / oursAckPerOp).toFixed(2)}, vs ip-batch ${(ipBatch / oursAck).toFixed(2)}`,
    );
    bench.value('netlink client, per operation', oursPerOp, 'ms');
    bench.value('netlink client waiting for the ACK, per operation', oursAckPerOp, 'ms');
    bench.value('ip per operation (baseline), per operation', ipPerOpPerOp, 'ms');
    bench.ratio(
      'netlink-vs-ip-batch',
      ipBatch / ours,
      'ip -batch total / ours (above 1 means faster)',
    );
    bench.ratio(
      'netlink-speedup-vs-ip',
      ipPerOpPerOp / oursPerOp,
      'ip per operation / ours (above 1 means faster)',
    );
    bench.write();
  } finally {
    for (const name of created.reverse()) {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
  }
}

await main();
