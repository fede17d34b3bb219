// The structured side of a benchmark: each bench still prints its `name: value` lines, and also
// records what it measured here (what, the baseline, the accelerator its VMs used, samples with
// p50/p95, ratios). `npm run bench` (bench/suite.ts) sets VMLAUNCH_BENCH_RESULT to a file path;
// write() puts the record there as JSON, so BENCHMARKS.md is built from data, not scraped text.
import { writeFileSync } from 'node:fs';

/** The environment variable naming the JSON file a bench writes its record to. */
export const RESULT_ENV = 'VMLAUNCH_BENCH_RESULT';

/** p50/p95 of one set of samples (nearest rank). */
export interface SampleSummary {
  label: string;
  unit: string;
  n: number;
  p50: number;
  p95: number;
}

/** A single number a bench reports (a size, a count, a median it computed itself). */
export interface ReportedValue {
  label: string;
  value: number;
  unit: string;
}

/** A `name: x` line with its meaning, e.g. ours / baseline. */
export interface ReportedRatio {
  name: string;
  value: number;
  meaning: string;
}

/** A table a bench wants shown as it is (e.g. the scale bench's rows per VM count). */
export interface ReportedTable {
  title: string;
  columns: string[];
  rows: string[][];
}

/** What one bench run wrote (the JSON at VMLAUNCH_BENCH_RESULT). */
export interface BenchRecord {
  bench: string;
  what: string;
  baseline: string;
  /** Accelerators the bench's VMs ran under ('none' when it starts no VM). */
  accel: string[];
  samples: SampleSummary[];
  values: ReportedValue[];
  ratios: ReportedRatio[];
  tables: ReportedTable[];
  notes: string[];
}

// Percentile by nearest rank; NaN for no samples.
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

// A bench's record under construction; write() at the end (also after a partial run).
export class BenchReport {
  private readonly record: BenchRecord;

  constructor(bench: string, info: { what: string; baseline: string }) {
    this.record = {
      bench,
      ...info,
      accel: [],
      samples: [],
      values: [],
      ratios: [],
      tables: [],
      notes: [],
    };
  }

  // Records the accelerator a VM of this bench ran under (read from Vm.accel, not assumed).
  accel(name: string): void {
    if (!this.record.accel.includes(name)) this.record.accel.push(name);
  }

  // Records samples and returns their p50/p95.
  samples(label: string, values: readonly number[], unit = 'ms'): SampleSummary {
    const summary = {
      label,
      unit,
      n: values.length,
      p50: percentile(values, 50),
      p95: percentile(values, 95),
    };
    this.record.samples.push(summary);
    return summary;
  }

  // Records one number.
  value(label: string, value: number, unit = ''): void {
    this.record.values.push({ label, value, unit });
  }

  // Prints `name: x.xxx` (the line the bench's readers and scripts look for) and records it.
  ratio(name: string, value: number, meaning: string): void {
    console.log(`${name}: ${value.toFixed(3)}`);
    this.record.ratios.push({ name, value, meaning });
  }

  // Records a table (cells already formatted).
  table(title: string, columns: string[], rows: string[][]): void {
    this.record.tables.push({ title, columns, rows });
  }

  // A sentence for the reader of BENCHMARKS.md (a caveat, what a number includes).
  note(text: string): void {
    this.record.notes.push(text);
  }

  // Writes the record where the suite asked for it; nothing when run on its own.
  write(): void {
    const path = process.env[RESULT_ENV];
    if (path) writeFileSync(path, `${JSON.stringify(this.record, null, 2)}\n`);
  }
}
