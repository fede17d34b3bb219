// Latency samples of soak runs: nearest-rank percentiles and a one-line summary.

/** The p-th percentile (nearest rank, 0 < p <= 100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** 'p50 12.3 ms, p95 45.6 ms, max 78.9 ms (n=1000)', or 'none (n=0)'. */
export function latencySummary(values: readonly number[]): string {
  if (values.length === 0) return 'none (n=0)';
  const f = (v: number): string => v.toFixed(1);
  return (
    `p50 ${f(percentile(values, 50))} ms, p95 ${f(percentile(values, 95))} ms, ` +
    `max ${f(percentile(values, 100))} ms (n=${values.length})`
  );
}

/** Milliseconds since `start` (a performance.now() value). */
export function msSince(start: number): number {
  return performance.now() - start;
}
