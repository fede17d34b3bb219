// launch() as named steps, with fake side effects (no QEMU, no network): the order of the
// steps, the rollback of what they made in reverse, and an abort noticed as a step ends, named
// after that step, with nothing after it started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { launchWithDeps, type LaunchDeps, type LaunchOptions } from '../../../launcher/launch.js';
import { launchSteps } from '../../../launcher/launch-run.js';
import type { QemuProcess } from '../../../launcher/process.js';
import type { HostNic } from '../../../network/host-nic.js';

let dir = '';
let kernel = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-launch-run-'));
  kernel = join(dir, 'vmlinuz');
  writeFileSync(kernel, '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const nic = (id: string): HostNic => ({
  kind: 'vhost-user',
  id,
  mac: '52:54:00:00:00:02',
  queues: 1,
  socketPath: `/run/${id}.sock`,
  mode: 'client',
});

// Side effects that log what they do and what is undone; `at` runs as each is reached.
function fakes(log: string[], at: (point: string) => void = () => undefined): Partial<LaunchDeps> {
  return {
    chooseAccelerator: () => {
      at('accelerator');
      return Promise.resolve({ accel: 'tcg', reason: 'test', cached: false });
    },
    attach: (_endpoint, ctx) => {
      log.push(`attach ${ctx.nicId}`);
      at(`attach ${ctx.nicId}`);
      return Promise.resolve({
        endpoint: { kind: 'tap', name: ctx.nicId },
        hostNic: nic(ctx.nicId),
        detach: () => Promise.resolve(void log.push(`detach ${ctx.nicId}`)),
      });
    },
    spawnQemu: (o) => {
      log.push('spawn');
      let running = true;
      const qemu = {
        pid: 1,
        argv: [o.binary, ...o.args],
        // QEMU dies at once: the handshake then fails as QEMU_EXITED, without a wait.
        exited: Promise.resolve({ code: 1, signal: null }),
        get running() {
          return running;
        },
        kill: () => {
          if (running) log.push('kill QEMU');
          running = false;
        },
        stderrTail: () => 'bye',
      };
      return Promise.resolve(qemu as unknown as QemuProcess);
    },
    connectQmp: () => {
      log.push('qmp-connect');
      return Promise.reject(new Error('no QMP here'));
    },
  };
}

const options = (extra: Partial<LaunchOptions> = {}): LaunchOptions => ({
  kernel,
  accel: 'auto',
  endpoints: [
    { endpoint: { kind: 'tap', name: 'a' }, id: 'net0' },
    { endpoint: { kind: 'tap', name: 'b' }, id: 'net1' },
  ],
  ...extra,
});

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('launch as named steps', () => {
  it('runs the steps in order, one attach step per endpoint', () => {
    expect(launchSteps(options()).map((s) => s.name)).toEqual([
      'validate',
      'sandbox',
      'run-dir',
      'jail',
      'console-log',
      'drives',
      'accelerator',
      'attach-endpoints',
      'attach-endpoints',
      'seed',
      'shares',
      'channels',
      'build-command',
      'spawn',
      'qmp-connect',
    ]);
  });

  it('a failure at qmp-connect undoes everything in reverse: QEMU first, the endpoints last-in first-out', async () => {
    const log: string[] = [];
    const error = await rejection(launchWithDeps(options(), fakes(log)));
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ step: 'qmp-connect', code: 'QEMU_EXITED', rollbackErrors: [] });
    expect(log).toEqual([
      'attach net0',
      'attach net1',
      'spawn',
      'qmp-connect',
      'kill QEMU',
      'detach net1',
      'detach net0',
    ]);
  });

  it('an abort during a step is named after it; the steps after it never start', async () => {
    for (const [point, step, made] of [
      ['accelerator', 'accelerator', []],
      ['attach net0', 'attach-endpoints', ['attach net0', 'detach net0']],
      [
        'attach net1',
        'attach-endpoints',
        ['attach net0', 'attach net1', 'detach net1', 'detach net0'],
      ],
    ] as const) {
      const log: string[] = [];
      const ctl = new AbortController();
      const deps = fakes(log, (p) => (p === point ? ctl.abort(new Error('stop')) : undefined));
      const error = await rejection(launchWithDeps({ ...options(), signal: ctl.signal }, deps));
      expect(error, point).toBeInstanceOf(LaunchError);
      expect(error, point).toMatchObject({ code: 'ABORTED', step, rollbackErrors: [] });
      expect(log, point).toEqual(made);
    }
  });

  it('an already aborted signal does nothing and names the first step', async () => {
    const log: string[] = [];
    const deps = fakes(log);
    const error = await rejection(
      launchWithDeps({ ...options(), signal: AbortSignal.abort() }, deps),
    );
    expect(error).toMatchObject({ code: 'ABORTED', step: 'validate' });
    expect(log).toEqual([]);
  });

  it('a bad rate limit on any endpoint is refused as a ValidationError before any endpoint is attached', async () => {
    const log: string[] = [];
    const endpoints = [
      { endpoint: { kind: 'tap', name: 'a' }, id: 'net0', rate: { tx: { rate: 1000 } } },
      { endpoint: { kind: 'tap', name: 'b' }, id: 'net1', rate: { rx: { rate: 0 } } },
    ] as const;
    const error = await rejection(
      launchWithDeps({ ...options(), endpoints: [...endpoints] }, fakes(log)),
    );
    // A config error keeps its type (launch's validate step passes it through).
    expect(error).toMatchObject({ code: 'VALIDATION', path: 'endpoints[1].rate.rx.rate' });
    expect(log).toEqual([]);
  });
});
