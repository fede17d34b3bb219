import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { launchWithDeps, type LaunchDeps } from '../../../launcher/launch.js';
import type { QemuSpawnOptions } from '../../../launcher/process.js';
import { SandboxUnsupportedError, type ResolvedSandbox } from '../../../launcher/sandbox.js';
import { ValidationError } from '../../../core/index.js';

// launch() with its side effects recorded: nothing here starts QEMU or touches the network.
let dir = '';
let kernel = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-launch-sandbox-'));
  kernel = join(dir, 'vmlinuz');
  writeFileSync(kernel, '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Recorded {
  events: string[];
  probed: ResolvedSandbox[];
  spawned: QemuSpawnOptions[];
  deps: Partial<LaunchDeps>;
}

// Deps that record each call; spawning stops the launch (nothing to spawn in a unit test).
function recordingDeps(probe?: () => Promise<void>): Recorded {
  const r: Recorded = { events: [], probed: [], spawned: [], deps: {} };
  r.deps = {
    probeSandbox: (o) => {
      r.events.push('probe');
      r.probed.push(o.policy);
      return probe ? probe() : Promise.resolve();
    },
    chooseAccelerator: () => {
      r.events.push('accelerator');
      return Promise.resolve({ accel: 'tcg', reason: 'test', cached: false });
    },
    attach: () => {
      r.events.push('attach');
      return Promise.reject(new Error('no attach in this test'));
    },
    spawnQemu: (o) => {
      r.events.push('spawn');
      r.spawned.push(o);
      return Promise.reject(new Error('stop before spawning'));
    },
  };
  return r;
}

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('launch and the seccomp sandbox', () => {
  it('probes the sandbox first, then spawns QEMU with the same -sandbox', async () => {
    const r = recordingDeps();
    const error = await rejection(launchWithDeps({ kernel }, r.deps));
    expect(error).toBeInstanceOf(LaunchError);
    expect(r.events).toEqual(['probe', 'accelerator', 'spawn']);
    const args = r.spawned[0]!.args;
    expect(args[args.indexOf('-sandbox') + 1]).toBe(
      'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    );
    expect(r.probed[0]).toEqual({
      obsolete: 'deny',
      elevatePrivileges: 'deny',
      spawn: 'deny',
      resourceControl: 'deny',
    });
    expect(r.spawned[0]!.runAs).toBeUndefined();
  });

  it('stops before any endpoint is attached when this QEMU cannot run the sandbox', async () => {
    const r = recordingDeps(() =>
      Promise.reject(new SandboxUnsupportedError('/q', 'it refused to start', 'no seccomp')),
    );
    const error = await rejection(
      launchWithDeps({ kernel, endpoints: [{ endpoint: { kind: 'tap', name: 'vmlt0' } }] }, r.deps),
    );
    expect(error).toBeInstanceOf(SandboxUnsupportedError);
    expect((error as Error).message).toMatch(/sandbox: false/);
    expect(r.events).toEqual(['probe']);
  });

  it('neither probes nor passes -sandbox when turned off', async () => {
    const r = recordingDeps();
    await rejection(launchWithDeps({ kernel, sandbox: false }, r.deps));
    expect(r.events).toEqual(['accelerator', 'spawn']);
    expect(r.spawned[0]!.args).not.toContain('-sandbox');
  });

  it('refuses a bad policy as a ValidationError before probing anything', async () => {
    const r = recordingDeps();
    const error = await rejection(
      launchWithDeps({ kernel, sandbox: { spawn: 'yes' } as never }, r.deps),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'sandbox.spawn', code: 'SANDBOX' });
    expect(r.events).toEqual([]);
  });

  it('refuses an unknown runAs user as a ValidationError before probing anything', async () => {
    const r = recordingDeps();
    const error = await rejection(
      launchWithDeps({ kernel, runAs: { user: 'vml-no-such-user' } }, r.deps),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'runAs.user', code: 'UNKNOWN_USER' });
    expect(r.events).toEqual([]);
  });

  it('finds a bad config before anything is created, with no endpoint and no sandbox too', async () => {
    const r = recordingDeps();
    const error = await rejection(launchWithDeps({ kernel, sandbox: false, memoryMiB: 0 }, r.deps));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'memory.sizeMiB' });
    expect(r.events).toEqual([]);
  });
});
