// bench:libvirt's restore comparison. One VM of each side is booted (the bench's launch config:
// q35, TCG, 512 MiB, one NIC on a tap joined to a veth by tc redirects), its NIC given an
// address and a ping to the veth's peer, and saved once: vm.snapshot(then: 'shutdown') against
// `virsh save` (the domain stops). Then rounds alternate (ours, libvirt, libvirt, ours, ...):
// restore() against `virsh restore` of the same file, each until the guest's harness answers
// `true` over the serial console. Round 0 warms up and checks that the restored NIC carries a
// ping on both sides. libvirt's tap is pre-made (the saved XML names it) and stays; vmlaunch's
// restore attaches a fresh tap with its tc filters, timed. One more libvirt restore and save
// run with libvirtd's debug log on, for where its time goes (bench/libvirt-trace.ts).
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { restore } from '../launcher/snapshot/restore.js';
import type { Vm } from '../launcher/vm.js';
import type { Libvirtd } from './libvirt-daemon.js';
import { destroyDomain, reachDomain, type Domain } from './libvirt-domain.js';
import { run } from './libvirt-host.js';
import { explainTrace, keepTrace, restorePhases } from './libvirt-trace.js';
import { percentile, type BenchReport } from './report.js';

/** What the restore comparison needs from the bench: its daemon, netns and boot functions. */
export interface RestoreSides {
  lv: Libvirtd;
  report: BenchReport;
  /** Timed rounds (after one warm-up round). */
  rounds: number;
  /** The netns whose veth eth1 carries each side's boot NIC (its peer1 gets PEER). */
  nsOurs: string;
  nsLibvirt: string;
  /** A VM / domain of the bench's launch config, booted to its ready marker. */
  bootOurs(): Promise<Vm>;
  bootLibvirt(id: string): Promise<Domain>;
}

/** Restore-to-answer samples of both sides, and the report's sentences about them. */
export interface RestoreOutcome {
  ours: number[];
  libvirt: number[];
  lines: string[];
}

const PEER = '10.231.9.1';
// The guest's one NIC up with an address, then a ping to the veth's peer across the tap.
const NET_UP =
  'n=$(ls /sys/class/net | grep -v "^lo$" | head -n 1) && ip link set "$n" up && ' +
  `ip addr add 10.231.9.2/24 dev "$n" && ping -c 1 -W 5 ${PEER} >/dev/null`;
const PING = `ping -c 1 -W 5 ${PEER} >/dev/null`;
const ANSWER_TIMEOUT = 60_000;
const since = (t: number): number => performance.now() - t;

// libvirt's save file header (src/qemu/qemu_saveimage.h): magic, version, XML length,
// was_running, compressed (0: raw), each a host-endian uint32 after the 16-byte magic.
function saveHeader(path: string): string {
  const head = Buffer.alloc(32);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  const magic = head.subarray(0, 16).toString('latin1').replace(/\0+$/, '');
  const [version, xmlLen, , compressed] = [16, 20, 24, 28].map((o) => head.readUInt32LE(o));
  return `${magic} v${version}, domain XML ${xmlLen} bytes, compressed=${compressed}${compressed === 0 ? ' (raw QEMU migration stream)' : ''}`;
}

// How libvirt started the restored domain's QEMU: its -incoming argument, and its parent (QEMU
// is daemonized, so whoever reaps orphans here reaps it when it ends).
function restoredQemu(name: string): { incoming: string; parent: string } {
  const pid = execFileSync('pgrep', ['-f', `guest=${name}`], { encoding: 'utf8' }).split('\n')[0];
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const at = argv.indexOf('-incoming');
  const ppid = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]!;
  const comm = readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
  return {
    incoming: at >= 0 ? `-incoming ${argv[at + 1]}` : 'no -incoming',
    parent: `pid ${ppid} (${comm})`,
  };
}

// How long an orphan's zombie waits here to be reaped: libvirt stops a domain's QEMU by polling
// kill(pid, 0) every 200 ms (virProcessKillPainfully), which a zombie still answers.
async function orphanReapMs(): Promise<number> {
  const script = 'sleep 0.05 >/dev/null 2>&1 & echo $!';
  const pid = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim();
  const t = performance.now();
  while (existsSync(`/proc/${pid}`) && since(t) < 10_000) await sleep(5);
  return Math.max(0, since(t) - 50);
}

// Per-step ms of vmlaunch's restores (launch's debug 'step done' records), by step name.
function stepRecorder(): { logger: pino.Logger; steps: Map<string, number[]> } {
  const steps = new Map<string, number[]>();
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const r = JSON.parse(line) as { step?: string; ms?: number };
        if (r.step !== undefined && r.ms !== undefined)
          steps.set(r.step, [...(steps.get(r.step) ?? []), r.ms]);
      },
    },
  );
  return { logger, steps };
}

// Saves both sides once, restores them round after round; records samples, values and notes.
export async function compareRestore(s: RestoreSides): Promise<RestoreOutcome> {
  const { lv, report } = s;
  const dir = mkdtempSync(join(tmpdir(), 'vml-bench-lvrestore-'));
  const oursFile = join(dir, 'ours.state');
  const theirFile = join(dir, 'libvirt.save');
  const lines: string[] = [];
  let liveVm: Vm | undefined;
  let live: Domain | undefined;
  try {
    for (const ns of [s.nsOurs, s.nsLibvirt])
      run('ip', '-n', ns, 'addr', 'add', `${PEER}/24`, 'dev', 'peer1');

    liveVm = await s.bootOurs();
    await liveVm.guest.check(NET_UP, { timeout: ANSWER_TIMEOUT });
    let t = performance.now();
    const saved = await liveVm.snapshot(oursFile, { then: 'shutdown' });
    const oursSaveWall = since(t);
    liveVm = undefined;

    live = await s.bootLibvirt('rs');
    const name = live.name;
    await live.guest.check(NET_UP, { timeout: ANSWER_TIMEOUT });
    t = performance.now();
    await lv.virsh.run(`save ${name} ${theirFile}`);
    const theirSave = since(t);
    live = undefined;
    const theirBytes = statSync(theirFile).size;

    const { logger, steps } = stepRecorder();
    const oursRestore = async (check: boolean): Promise<{ returned: number; answer: number }> => {
      const t0 = performance.now();
      liveVm = await restore(oursFile, { logger });
      const returned = since(t0);
      await liveVm.guest.check('true', { timeout: ANSWER_TIMEOUT });
      const answer = since(t0);
      if (check) await liveVm.guest.check(PING, { timeout: ANSWER_TIMEOUT });
      await liveVm.shutdown({ timeout: 0 });
      liveVm = undefined;
      return { returned, answer };
    };
    const theirRestore = async (
      then: 'check' | 'destroy' | 'keep',
    ): Promise<{ returned: number; answer: number }> => {
      const t0 = performance.now();
      await lv.virsh.run(`restore ${theirFile}`);
      const returned = since(t0);
      live = await reachDomain(lv, name, true);
      await live.guest.check('true', { timeout: ANSWER_TIMEOUT });
      const answer = since(t0);
      if (then === 'check') await live.guest.check(PING, { timeout: ANSWER_TIMEOUT });
      if (then !== 'keep') {
        await destroyDomain(lv, live);
        live = undefined;
      }
      return { returned, answer };
    };

    const ours = { returned: [] as number[], answer: [] as number[] };
    const theirs = { returned: [] as number[], answer: [] as number[] };
    let qemu = { incoming: '?', parent: '?' };
    for (let i = 0; i <= s.rounds; i++) {
      const sides = [
        async () => {
          const r = await oursRestore(i === 0);
          if (i === 0) steps.clear();
          else for (const k of ['returned', 'answer'] as const) ours[k].push(r[k]);
        },
        async () => {
          if (i === 0) {
            await theirRestore('keep');
            qemu = restoredQemu(name);
            await live!.guest.check(PING, { timeout: ANSWER_TIMEOUT });
            await destroyDomain(lv, live!);
            live = undefined;
            return;
          }
          const r = await theirRestore('destroy');
          for (const k of ['returned', 'answer'] as const) theirs[k].push(r[k]);
        },
      ];
      for (const side of i % 2 === 0 ? sides : sides.reverse()) await side();
      console.log(`restore round ${i}${i === 0 ? ' (warm-up, NICs pinged)' : ''} done`);
    }

    // One traced restore, and a traced save of the domain it brought back.
    lv.debugLog('trace-restore.log');
    const traced = await theirRestore('keep');
    lv.debugLog('trace-save.log');
    await lv.virsh.run(`save ${name} ${join(dir, 'traced.save')}`);
    lv.debugLog(undefined);
    live = undefined;
    lines.push(
      `virsh restore, traced: returned after ${traced.returned.toFixed(0)} ms, the guest answering after ${traced.answer.toFixed(0)} ms.`,
      ...explainTrace(keepTrace(lv, 'trace-restore.log'), 'virsh restore, traced'),
      restorePhases(keepTrace(lv, 'trace-restore.log'), 'virsh restore, traced'),
    );
    lines.push(...explainTrace(keepTrace(lv, 'trace-save.log'), 'virsh save, traced'));

    const reapMs = await orphanReapMs();
    report.value('host: an orphaned process waits to be reaped', reapMs, 'ms');
    const fmt = (v: number[]): string =>
      `p50 ${percentile(v, 50).toFixed(0)} ms, p95 ${percentile(v, 95).toFixed(0)} ms (n=${v.length})`;
    console.log(`restore() returned: ${fmt(ours.returned)}; guest answers: ${fmt(ours.answer)}`);
    console.log(
      `virsh restore returned: ${fmt(theirs.returned)}; guest answers: ${fmt(theirs.answer)}`,
    );
    console.log(
      `vm.snapshot: save ${saved.saveMs.toFixed(0)} ms (call ${oursSaveWall.toFixed(0)} ms), ${saved.bytes} bytes; virsh save: ${theirSave.toFixed(0)} ms, ${theirBytes} bytes`,
    );
    report.samples('vmlaunch: restore() returned', ours.returned);
    report.samples('vmlaunch: restore() to the guest answering `true`', ours.answer);
    report.samples('libvirt: virsh restore returned', theirs.returned);
    report.samples('libvirt: virsh restore to the guest answering `true`', theirs.answer);
    report.value('vmlaunch: vm.snapshot() save (stop to save complete)', saved.saveMs, 'ms');
    report.value('vmlaunch: vm.snapshot(then: shutdown) call', oursSaveWall, 'ms');
    report.value('vmlaunch: state file', saved.bytes, 'bytes');
    report.value('libvirt: virsh save', theirSave, 'ms');
    report.value('libvirt: save file', theirBytes, 'bytes');
    const stepP50 = [...steps]
      .map(([step, ms]) => `${step} ${percentile(ms, 50).toFixed(0)}`)
      .join(', ');
    lines.push(
      `restore: vmlaunch's restore() steps, p50 ms: ${stepP50}. Its time includes a fresh tap with its tc filters and the guest's neighbour flush (\`ip neigh flush all\`, one harness round trip before the timed \`true\`); libvirt's tap is pre-made and kept, and no flush runs.`,
      `restore: libvirt's save file is ${saveHeader(theirFile)}; vmlaunch's is QEMU's migration stream as it is, its manifest beside it. virsh restore started QEMU with ${qemu.incoming}. Both files are read from the page cache (saved once, restored each round).`,
      `save: virsh save streams QEMU's state through libvirt_iohelper (which writes the file and fdatasyncs it), then stops QEMU and waits until kill(pid, 0) fails. libvirt's QEMU is daemonized, its parent ${qemu.parent}, and here an orphan's zombie waited ${reapMs.toFixed(0)} ms to be reaped: the traced save's gap after qemuProcessKill, up to qemuDomainCleanupRun (above), is mostly that wait: an artefact of this host's PID 1, not libvirt's work. vm.snapshot()'s QEMU is vmlaunch's child, reaped at once; its call includes the fsync of the state file.`,
    );
    return { ours: ours.answer, libvirt: theirs.answer, lines };
  } finally {
    await liveVm?.shutdown({ timeout: 0 }).catch(() => undefined);
    if (live) await destroyDomain(lv, live).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
