// The benchmarks `npm run bench` runs, in this order: each name is the npm script bench:<name>.
// This array is the one place to extend when a bench is added. The suite refuses to start when a listed name has no script, or when
// a bench:* script or a bench/*.bench.ts file is not listed, so no bench drops out unnoticed.
export const SUITE: readonly string[] = [
  'netlink',
  'endpoints',
  'journal',
  'launch',
  'boot',
  'sandbox',
  'hotplug',
  'run',
  'snapshot',
  'libvirt',
  'scale',
];

// What is wrong between SUITE, package.json's bench:* scripts and the bench/*.bench.ts files
// (and the BENCH_ONLY names); empty when they agree.
export function suiteMismatches(
  suite: readonly string[],
  scripts: readonly string[],
  benchFiles: readonly string[],
  only: readonly string[] = [],
): string[] {
  const benchScripts = scripts.filter((s) => s.startsWith('bench:')).map((s) => s.slice(6));
  return [
    ...suite
      .filter((n) => !benchScripts.includes(n))
      .map(
        (n) => `'${n}' is listed in bench/suite-list.ts but package.json has no bench:${n} script`,
      ),
    ...benchScripts
      .filter((n) => !suite.includes(n))
      .map((n) => `package.json's bench:${n} is not in SUITE (bench/suite-list.ts): add it there`),
    ...benchFiles
      .filter((f) => f.endsWith('.bench.ts') && !suite.includes(f.slice(0, -9)))
      .map(
        (f) => `bench/${f} is not in SUITE (bench/suite-list.ts) under the name ${f.slice(0, -9)}`,
      ),
    ...only
      .filter((n) => !suite.includes(n))
      .map((n) => `BENCH_ONLY names '${n}', which is not in SUITE`),
  ];
}
