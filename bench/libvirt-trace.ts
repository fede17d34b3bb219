// Reads a libvirtd debug log of one traced operation (bench/libvirt.bench.ts) and says where
// its time went: before QEMU's exec, QEMU's start to the monitor, the QMP commands libvirt
// sent (which, how many, how long QEMU took to answer them), and the largest quiet gaps.
import { copyFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Libvirtd } from './libvirt-daemon.js';
import { RESULT_ENV } from './report.js';

/** One line of libvirtd's log. */
interface LogLine {
  ms: number;
  func: string;
  msg: string;
}

// 2026-12-05 10:36:22.989+0000: 29618: debug : qemuMonitorSend:123 : text
const LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\+0000: \d+: \w+ : (\w+):\d+ : (.*)$/;

function parse(file: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = LINE.exec(raw.replace(/\r/g, ' '));
    if (m) lines.push({ ms: Date.parse(`${m[1]!.replace(' ', 'T')}Z`), func: m[2]!, msg: m[3]! });
  }
  return lines;
}

/** What a traced operation spent its time on, as sentences for the report. */
export function explainTrace(file: string, what: string): string[] {
  const lines = parse(file);
  if (lines.length === 0) return [`${what}: the debug log ${file} had no lines`];
  const t0 = lines[0]!.ms;
  const at = (l: LogLine | undefined): string => (l ? `${(l.ms - t0).toFixed(0)} ms` : 'n/a');
  const sends = lines.filter((l) => l.msg.includes('QEMU_MONITOR_SEND_MSG'));
  const replies = lines.filter((l) => l.msg.includes('QEMU_MONITOR_RECV_REPLY'));
  const commands = sends.map((l) => /\\?"execute\\?":\\?"([^"\\]+)/.exec(l.msg)?.[1] ?? '?');
  const counts = new Map<string, number>();
  for (const c of commands) counts.set(c, (counts.get(c) ?? 0) + 1);
  // Time QEMU took to answer: each send to the next reply.
  let waiting = 0;
  for (const s of sends) {
    const r = replies.find((x) => x.ms >= s.ms);
    if (r) waiting += r.ms - s.ms;
  }
  const exec = lines.find(
    (l) => /qemu-system/.test(l.msg) && /virCommandRunAsync|virExec/.test(l.func),
  );
  const first = sends[0];
  const last = sends.at(-1);
  const gaps = lines
    .slice(1)
    .map((l, i) => ({ ms: l.ms - lines[i]!.ms, before: lines[i]!, after: l }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .filter((g) => g.ms >= 10);
  const total = lines.at(-1)!.ms - t0;
  // External commands libvirt ran (tc, QEMU itself), as their first words without the env.
  const ran = lines
    .filter((l) => l.func === 'virCommandRunAsync' && l.msg.startsWith('About to run '))
    .map((l) =>
      l.msg
        .slice('About to run '.length)
        .split(' ')
        .filter((w) => !/^[A-Z_]+=/.test(w))
        .slice(0, 3)
        .map((w) => w.split('/').at(-1))
        .join(' '),
    );
  return [
    `${what} (debug log on, which slows libvirtd): ${total.toFixed(0)} ms from its first to its last log line; QEMU exec at ${at(exec)}, first QMP command at ${at(first)}, last at ${at(last)}.`,
    `${what}: ${sends.length} QMP commands, QEMU answering them in ${waiting.toFixed(0)} ms all told: ${[...counts].map(([c, n]) => (n > 1 ? `${c} x${n}` : c)).join(', ')}.`,
    `${what}: commands libvirtd ran: ${ran.length > 0 ? ran.join('; ') : 'none'}.`,
    `${what}: largest gaps between log lines: ${gaps.map((g) => `${g.ms.toFixed(0)} ms after ${g.before.func} (before ${g.after.func})`).join('; ')}.`,
  ];
}

// A trace log of `lv`'s, copied beside the suite's record (.bench/) when there is one; its path.
export function keepTrace(lv: Libvirtd, file: string): string {
  const from = join(lv.dir, 'log', file);
  const result = process.env[RESULT_ENV];
  if (!result) return from;
  const to = join(dirname(result), `libvirt-${file}`);
  copyFileSync(from, to);
  return to;
}

// The phases of a traced start of QEMU for a restore, in ms from the first log line: QEMU's
// exec to its first QMP answer, libvirt's qom-get round trips (its check of the guest CPU's
// features), migrate-incoming to the load's completion, and cont.
export function restorePhases(file: string, what: string): string {
  const lines = parse(file);
  if (lines.length === 0) return `${what}: the debug log ${file} had no lines`;
  const t0 = lines[0]!.ms;
  const rel = (l: LogLine | undefined): string => (l ? (l.ms - t0).toFixed(0) : '?');
  const sent = (cmd: string): LogLine[] =>
    lines.filter((l) => l.msg.includes('QEMU_MONITOR_SEND_MSG') && l.msg.includes(`"${cmd}"`));
  const replyAfter = (l: LogLine | undefined): LogLine | undefined =>
    l && lines.find((x) => x.ms >= l.ms && x.msg.includes('QEMU_MONITOR_RECV_REPLY'));
  const exec = lines.find(
    (l) => /qemu-system/.test(l.msg) && /virCommandRunAsync|virExec/.test(l.func),
  );
  const qomGets = sent('qom-get');
  const incoming = sent('migrate-incoming')[0];
  const loaded = lines.find(
    (l) => l.func === 'qemuProcessHandleMigrationStatus' && l.msg.includes('to completed'),
  );
  const load = incoming && loaded ? (loaded.ms - incoming.ms).toFixed(0) : '?';
  return `${what}, phases in ms from its first log line: QEMU exec at ${rel(exec)}, its first QMP answer at ${rel(replyAfter(sent('qmp_capabilities')[0]))}; ${qomGets.length} qom-get round trips (the guest CPU's features, read one by one) from ${rel(qomGets[0])} to ${rel(replyAfter(qomGets.at(-1)))}; migrate-incoming at ${rel(incoming)}, the load completed at ${rel(loaded)} (${load} ms); cont at ${rel(sent('cont')[0])}.`;
}
