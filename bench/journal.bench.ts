// Benchmark `npx tsx bench/journal.bench.ts`: what the crash journal adds to an attach. For each model
// that writes an entry (tcfilter, macvtap, bridged), 40 rounds of attach + detach of a CNI-like
// veth (two addresses, two routes) alternate between journal on (a private dir on /run, tmpfs,
// like the default /run/vmlaunch/.journal) and journal: false, in one run; the baseline is the
// same attach without the journal. First the journal step alone (snapshot + write, removal, and
// the fsyncs in it), which load on the machine disturbs less. Everything lives in two vml- netns and a /run dir this script
// creates and always deletes. Last line: `journal-added-ms-per-attach: <worst model's median
// difference>`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import * as native from '../native/index.js';
import { attachEndpoint } from '../network/endpoints/attach.js';
import type { Interworking } from '../network/endpoints/types.js';
import type { TapHostNic } from '../network/host-nic.js';
import { journalNetns } from '../network/journal/netns-identity.js';
import { selfOwner } from '../network/journal/owner.js';
import { snapshotLink } from '../network/journal/snapshot.js';
import { removeEntry, writeEntry } from '../network/journal/store.js';
import { openNetlink } from '../network/netlink/index.js';
import { BenchReport } from './report.js';

const bench = new BenchReport('journal', {
  what: 'attach + detach of a CNI-like veth with the crash journal on (tmpfs), per model',
  baseline: 'the same attach with journal: false, rounds alternating',
});

const ROUNDS = 40;
const WARMUP_ROUNDS = 3;
const MODELS: Interworking[] = ['tcfilter', 'macvtap', 'bridged'];
const STEP_ROUNDS = 200;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// One attach (timed) and its detach (timed) with the journal in `journal`.
async function round(netns: string, model: Interworking, journal: string | false) {
  const t0 = performance.now();
  const a = await attachEndpoint(
    { kind: 'veth', name: 'eth0', interworking: model },
    { netns, nicId: 'bench0', vhostNet: 'off', journal },
  );
  const t1 = performance.now();
  native.closeAll((a.hostNic as TapHostNic).tapFds);
  const t2 = performance.now();
  await a.detach();
  return { attach: t1 - t0, detach: performance.now() - t2 };
}

// The journal step alone, as attach runs it (snapshot, then write), then detach's removal; and
// the two fsyncs (file, directory) that the write includes, timed on their own.
async function stepCosts(netns: string, journal: string): Promise<void> {
  const nl = openNetlink(netns);
  try {
    const veth = await nl.links.get('eth0');
    for (const [what, parts] of [
      ['addresses (macvtap, bridged)', { addresses: true }],
      ['ingress (tcfilter)', { ingress: true }],
    ] as const) {
      const write: number[] = [];
      const remove: number[] = [];
      for (let i = 0; i < STEP_ROUNDS; i++) {
        const t0 = performance.now();
        const file = writeEntry(journal, {
          version: 1,
          kind: 'borrowed-link',
          owner: selfOwner(),
          at: Date.now(),
          nicId: 'bench0',
          netns: journalNetns(netns),
          link: await snapshotLink(nl, veth, parts),
          creates: [{ name: 'vmlbbench', kind: 'bridge' }],
        });
        const t1 = performance.now();
        removeEntry(file);
        write.push(t1 - t0);
        remove.push(performance.now() - t1);
      }
      console.log(
        `journal step, snapshot of ${what}: write ${median(write).toFixed(3)} ms, remove ${median(remove).toFixed(3)} ms`,
      );
    }
    const syncs: number[] = [];
    for (let i = 0; i < STEP_ROUNDS; i++) {
      const path = join(journal, `.fsync-probe-${i}`);
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      writeSync(fd, 'x'.repeat(700));
      const t0 = performance.now();
      fsyncSync(fd);
      const dirFd = openSync(journal, constants.O_RDONLY | constants.O_DIRECTORY);
      fsyncSync(dirFd);
      syncs.push(performance.now() - t0);
      closeSync(dirFd);
      closeSync(fd);
      unlinkSync(path);
    }
    console.log(`of which fsync (file + directory): ${median(syncs).toFixed(3)} ms`);
  } finally {
    await nl.close();
  }
}

async function main(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const netns = `vml-bench-j-${id}`;
  const peer = `${netns}-p`;
  const dir = mkdtempSync('/run/vml-bench-journal-');
  const journal = join(dir, 'journal');
  let worst = 0;
  try {
    ip('netns', 'add', netns);
    ip('netns', 'add', peer);
    ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peer);
    ip('-n', netns, 'link', 'set', 'eth0', 'addrgenmode', 'none');
    ip('-n', netns, 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0');
    ip('-n', netns, 'addr', 'add', 'fd00:9::2/64', 'dev', 'eth0', 'nodad');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', peer, 'link', 'set', 'peer0', 'up');
    ip('-n', netns, 'route', 'add', 'default', 'via', '10.9.0.1');
    ip('-n', netns, 'route', 'add', '10.10.0.0/16', 'via', '10.9.0.1', 'mtu', '1400');
    await stepCosts(netns, journal);
    console.log(`${ROUNDS} rounds per model and method, alternating; medians in ms`);
    console.log('model     attach(journal) attach(none) added   detach(journal) detach(none)');
    for (const model of MODELS) {
      for (let i = 0; i < WARMUP_ROUNDS; i++) {
        await round(netns, model, journal);
        await round(netns, model, false);
      }
      const on = { attach: [] as number[], detach: [] as number[] };
      const off = { attach: [] as number[], detach: [] as number[] };
      for (let i = 0; i < ROUNDS; i++) {
        const first = i % 2 === 0;
        for (const useJournal of first ? [true, false] : [false, true]) {
          const r = await round(netns, model, useJournal ? journal : false);
          const into = useJournal ? on : off;
          into.attach.push(r.attach);
          into.detach.push(r.detach);
        }
      }
      const added = median(on.attach) - median(off.attach);
      worst = Math.max(worst, added);
      bench.samples(`${model}: attach with the journal`, on.attach);
      bench.samples(`${model}: attach without (baseline)`, off.attach);
      console.log(
        `${model.padEnd(9)} ${median(on.attach).toFixed(2).padStart(15)} ${median(off.attach).toFixed(2).padStart(12)} ` +
          `${added.toFixed(2).padStart(6)} ${median(on.detach).toFixed(2).padStart(16)} ${median(off.detach).toFixed(2).padStart(12)}`,
      );
    }
  } finally {
    for (const ns of [peer, netns]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // not created
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`journal-added-ms-per-attach: ${worst.toFixed(2)}`);
  bench.value('journal-added-ms-per-attach (worst model, median difference)', worst, 'ms');
  bench.write();
}

await main();
