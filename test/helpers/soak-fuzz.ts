// The fuzz part of `npm run soak`: the property suites of test/unit/fuzz with many more runs
// than CI gives them (VMLAUNCH_FUZZ_SCALE times each suite's count), under one seed.
import { spawn } from 'node:child_process';

/** Options of a long fuzz run. */
export interface FuzzSoakOptions {
  /** Multiplier of each suite's CI run count. */
  scale: number;
  seed: number;
  log(line: string): void;
  signal: AbortSignal;
}

// Runs vitest on the fuzz suites in a child process; rejects when a property fails.
export async function runFuzzSoak(options: FuzzSoakOptions): Promise<string[]> {
  const child = spawn('npx', ['vitest', 'run', 'test/unit/fuzz', '--reporter=dot'], {
    env: {
      ...process.env,
      VMLAUNCH_FUZZ_SCALE: String(options.scale),
      VMLAUNCH_FUZZ_SEED: String(options.seed),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: options.signal,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const summary = `fuzz: seed ${options.seed}, ${options.scale}x the CI runs`;
  if (code !== 0) {
    options.log(output);
    throw new Error(`${summary}: a property failed (exit ${code}); its counterexample is above`);
  }
  return [`${summary}: every property held`];
}
