// The benchmark suite's list against package.json and bench/: no bench may drop out unnoticed.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUITE, suiteMismatches } from '../../../bench/suite-list.js';

const scripts = ['bench', 'bench:launch', 'bench:scale', 'test'];

describe('the benchmark suite list', () => {
  it('agrees with this repository (every bench:* script and bench/*.bench.ts is listed)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: object };
    expect(suiteMismatches(SUITE, Object.keys(pkg.scripts), readdirSync('bench'))).toEqual([]);
  });

  it('accepts a list that matches', () => {
    expect(suiteMismatches(['launch', 'scale'], scripts, ['launch.bench.ts', 'report.ts'])).toEqual(
      [],
    );
  });

  it('names a listed bench whose script is missing', () => {
    expect(suiteMismatches(['launch', 'scale', 'snapshot'], scripts, [])).toEqual([
      "'snapshot' is listed in bench/suite-list.ts but package.json has no bench:snapshot script",
    ]);
  });

  it('names a bench:* script and a bench file that are not listed', () => {
    expect(
      suiteMismatches(['launch'], [...scripts, 'bench:snapshot'], ['snapshot.bench.ts']),
    ).toEqual([
      "package.json's bench:scale is not in SUITE (bench/suite-list.ts): add it there",
      "package.json's bench:snapshot is not in SUITE (bench/suite-list.ts): add it there",
      'bench/snapshot.bench.ts is not in SUITE (bench/suite-list.ts) under the name snapshot',
    ]);
  });

  it('names a BENCH_ONLY entry that is not in the suite', () => {
    expect(suiteMismatches(['launch', 'scale'], scripts, [], ['scale', 'lunch'])).toEqual([
      "BENCH_ONLY names 'lunch', which is not in SUITE",
    ]);
  });
});
