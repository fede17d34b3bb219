// Renders BENCHMARKS.md from the records the benches wrote (bench/report.ts) and the machine.
import { machineLine, type MachineInfo } from './machine.js';
import type { BenchRecord } from './report.js';

/** One bench of a suite run: its record (or the ratio lines scraped when it wrote none). */
export interface SuiteEntry {
  name: string;
  ok: boolean;
  seconds: number;
  /** Load average (1 min) when it ended. */
  load: number;
  record: BenchRecord | undefined;
  /** `x-ratio: v` lines from its output (used only when it wrote no record). */
  scraped: Array<{ name: string; value: number }>;
  logFile: string;
  /** The end of its output when it failed. */
  tail: string;
}

const num = (v: number): string =>
  !Number.isFinite(v)
    ? 'n/a'
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (columns: string[], rows: string[][]): string[] => [
  `| ${columns.map(cell).join(' | ')} |`,
  `| ${columns.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
];

// One section per bench.
function section(e: SuiteEntry, machine: MachineInfo): string[] {
  const r = e.record;
  const out = [`## bench:${e.name}${e.ok ? '' : ' — FAILED'}`, ''];
  if (r) out.push(`**What:** ${r.what}`, '', `**Baseline:** ${r.baseline}`, '');
  out.push(
    `**Machine:** ${machineLine(machine)}; load average ${machine.load.toFixed(2)} at the suite's start, ${e.load.toFixed(2)} when this bench ended.`,
    '',
    `**Accelerator:** ${r ? (r.accel.length > 0 ? r.accel.join(', ') : 'none (no VM)') : 'not recorded'}. **Run time:** ${e.seconds.toFixed(0)} s. **Command:** \`npm run bench:${e.name}\`.`,
    '',
  );
  if (!e.ok) out.push('It failed; the end of its output:', '', '```', e.tail, '```', '');
  if (!r) {
    out.push(
      `This bench wrote no structured record (bench/report.ts); its ratio lines are taken from its output (${e.logFile}).`,
      '',
    );
    if (e.scraped.length > 0)
      out.push(
        ...table(
          ['ratio', 'value'],
          e.scraped.map((s) => [s.name, num(s.value)]),
        ),
        '',
      );
    return out;
  }
  if (r.ratios.length > 0)
    out.push(
      ...table(
        ['ratio', 'value', 'meaning'],
        r.ratios.map((x) => [`\`${x.name}\``, x.value.toFixed(3), x.meaning]),
      ),
      '',
    );
  if (r.samples.length > 0)
    out.push(
      ...table(
        ['measured', 'n', 'p50', 'p95', 'unit'],
        r.samples.map((s) => [s.label, String(s.n), num(s.p50), num(s.p95), s.unit]),
      ),
      '',
    );
  if (r.values.length > 0)
    out.push(
      ...table(
        ['value', '', 'unit'],
        r.values.map((v) => [v.label, num(v.value), v.unit]),
      ),
      '',
    );
  for (const t of r.tables) out.push(`**${t.title}**`, '', ...table(t.columns, t.rows), '');
  if (r.notes.length > 0) out.push(...r.notes.map((n) => `- ${n}`), '');
  return out;
}

// The whole file: a header, a summary of every ratio, then one section per bench.
export function renderBenchmarks(
  entries: SuiteEntry[],
  machine: MachineInfo,
  started: Date,
  partial: boolean,
): string {
  const ratios = entries.flatMap((e) =>
    e.record
      ? e.record.ratios.map((x) => [
          `bench:${e.name}`,
          `\`${x.name}\``,
          x.value.toFixed(3),
          x.meaning,
        ])
      : e.scraped.map((s) => [
          `bench:${e.name}`,
          `\`${s.name}\``,
          s.value.toFixed(3),
          '(from its output)',
        ]),
  );
  const failed = entries.filter((e) => !e.ok).map((e) => `bench:${e.name}`);
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/suite.ts) on ${started.toISOString()}${partial ? `, a partial run (BENCH_ONLY): ${entries.map((e) => e.name).join(', ')}` : ''}. ` +
      'Each bench measures vmlaunch against a baseline in the same run, alternating where it can; ' +
      'the numbers are from one machine, shared with other work while they were taken (see the load averages), ' +
      'so read the ratios, not the absolute times. How the suite works: docs/benchmarks.md.',
    '',
    `**Machine:** ${machineLine(machine)}.`,
    '',
    ...(failed.length > 0 ? [`**Failed:** ${failed.join(', ')}.`, ''] : []),
    '## Ratios',
    '',
    ...table(['bench', 'ratio', 'value', 'meaning'], ratios),
    '',
    ...entries.flatMap((e) => section(e, machine)),
  ].join('\n');
}
