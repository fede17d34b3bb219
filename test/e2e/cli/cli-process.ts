// Runs the vmlaunch CLI as a separate process (as a user would), for the e2e tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (where launcher/cli/main.ts is). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Exit code and output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vmlaunch ARGS` to completion. */
export function vmlaunch(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  timeout = 120_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'launcher/cli/main.ts', ...args],
      { cwd: REPO, env, timeout },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A long-running `vmlaunch run` in its own process group (so SIGINT reaches it like Ctrl-C),
 * started as `node --import tsx` so the process we watch is vmlaunch itself, not a wrapper.
 */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the whole command ended. */
  exited: Promise<number | string>;
  /** Waits until `pattern` shows on stdout or stderr. */
  waitFor(pattern: RegExp, timeout: number): Promise<void>;
}

// Starts `vmlaunch ARGS` in the background.
export function startVmlaunch(args: string[], env: NodeJS.ProcessEnv = process.env): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'launcher/cli/main.ts', ...args], {
    cwd: REPO,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const poke = (): void => waiters.splice(0).forEach((w) => w());
  child.stdout.on('data', (c: Buffer) => ((out += c.toString()), poke()));
  child.stderr.on('data', (c: Buffer) => ((err += c.toString()), poke()));
  // 'close': the process has exited and its output is all read.
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => (poke(), resolve(code ?? signal ?? -1))),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeout) {
      const deadline = Date.now() + timeout;
      while (!pattern.test(out) && !pattern.test(err)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`vmlaunch ${args.join(' ')} ended before ${pattern}:\n${err}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeout} ms:\n${err}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    },
  };
}
