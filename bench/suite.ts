// `npm run bench`: runs every benchmark of bench/suite-list.ts one after another (each its own
// process, `npm run bench:<name>`), with their output in .bench/<name>.log and their records
// (bench/report.ts) in .bench/<name>.json, then writes BENCHMARKS.md at the repo root.
// BENCH_ONLY=a,b runs a subset; BENCH_OUT names another output file. Fails before running
// anything when the list and package.json's bench:* scripts disagree (docs/benchmarks.md).
import { execFileSync, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yoctoSpinner from 'yocto-spinner';
import { renderBenchmarks, type SuiteEntry } from './benchmarks-md.js';
import { describeMachine } from './machine.js';
import { RESULT_ENV, type BenchRecord } from './report.js';
import { SUITE, suiteMismatches } from './suite-list.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = join(REPO, '.bench');

// The names to run, after checking SUITE against package.json and bench/*.bench.ts.
function planned(): string[] {
  const scripts = Object.keys(
    (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: object }).scripts,
  );
  const only = process.env.BENCH_ONLY?.split(',').filter((s) => s !== '');
  const problems = suiteMismatches(SUITE, scripts, readdirSync(join(REPO, 'bench')), only);
  if (problems.length > 0)
    throw new Error(`the benchmark suite does not match the benches:\n  ${problems.join('\n  ')}`);
  return only ? SUITE.filter((n) => only.includes(n)) : [...SUITE];
}

// Runs one bench; resolves with its entry (a failure is an entry too, not a throw).
async function runOne(name: string, index: number, total: number): Promise<SuiteEntry> {
  const logFile = join(OUT_DIR, `${name}.log`);
  const resultFile = join(OUT_DIR, `${name}.json`);
  rmSync(resultFile, { force: true });
  const log = createWriteStream(logFile);
  const started = performance.now();
  const title = `bench:${name} (${index}/${total})`;
  // A live spinner on a terminal; plain start/end lines in a log.
  const spinner = process.stderr.isTTY ? yoctoSpinner({ text: title }).start() : undefined;
  if (!spinner) console.log(`${title} started`);
  let last = '';
  let output = '';
  const tick = setInterval(() => {
    const s = ((performance.now() - started) / 1000).toFixed(0);
    if (spinner) spinner.text = `${title} ${s} s  ${last.slice(0, 90)}`;
  }, 1000);
  const code = await new Promise<number>((resolve) => {
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], {
      cwd: REPO,
      env: { ...process.env, [RESULT_ENV]: resultFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const take = (chunk: Buffer): void => {
      const text = chunk.toString();
      log.write(text);
      output = (output + text).slice(-20_000);
      last = text.trim().split('\n').at(-1) ?? last;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (c) => resolve(c ?? 1));
  });
  clearInterval(tick);
  await new Promise((resolve) => log.end(resolve));
  const seconds = (performance.now() - started) / 1000;
  const ok = code === 0;
  const verdict = `bench:${name} ${ok ? 'done' : `FAILED (exit ${code}; ${logFile})`} in ${seconds.toFixed(0)} s`;
  if (spinner) (ok ? spinner.success.bind(spinner) : spinner.error.bind(spinner))(verdict);
  else console.log(verdict);
  const record = existsSync(resultFile)
    ? (JSON.parse(readFileSync(resultFile, 'utf8')) as BenchRecord)
    : undefined;
  const scraped = [...output.matchAll(/^([a-z0-9-]+-ratio): ([0-9.]+)\s*$/gm)].map((m) => ({
    name: m[1]!,
    value: Number(m[2]),
  }));
  if (ok && !record) console.log(`  bench:${name} wrote no record; its ratio lines are used`);
  return {
    name,
    ok,
    seconds,
    load: loadavg()[0]!,
    record,
    scraped,
    logFile: logFile.slice(REPO.length),
    tail: output.trim().split('\n').slice(-30).join('\n'),
  };
}

const names = planned();
mkdirSync(OUT_DIR, { recursive: true });
console.log('bench setup: scripts/bench-setup.sh (Debian packages the benches need)');
execFileSync('bash', [join(REPO, 'scripts', 'bench-setup.sh')], { stdio: 'inherit' });
const machine = describeMachine();
const started = new Date();
const entries: SuiteEntry[] = [];
for (const [i, name] of names.entries()) entries.push(await runOne(name, i + 1, names.length));
const out = resolve(REPO, process.env.BENCH_OUT ?? 'BENCHMARKS.md');
writeFileSync(out, renderBenchmarks(entries, machine, started, names.length < SUITE.length));
const failed = entries.filter((e) => !e.ok);
console.log(
  `wrote ${out}${failed.length > 0 ? `; failed: ${failed.map((e) => e.name).join(', ')}` : ''}`,
);
if (failed.length > 0) process.exitCode = 1;
