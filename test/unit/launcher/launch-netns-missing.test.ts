// A launch whose endpoint names a netns that does not exist fails with that error itself (a
// ValidationError coded NETNS_NOT_FOUND), as every config error does, not wrapped in a
// LaunchError.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { launchWithDeps, type LaunchDeps } from '../../../launcher/launch.js';
import { ValidationError } from '../../../core/index.js';
import { NetnsNotFoundError } from '../../../network/netns/not-found.js';

let dir = '';
let kernel = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-launch-netns-'));
  kernel = join(dir, 'vmlinuz');
  writeFileSync(kernel, '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('launch with an endpoint in a missing netns', () => {
  it('rejects with the NetnsNotFoundError of the attach, not a LaunchError', async () => {
    const missing = new NetnsNotFoundError('netns', 'vml-absent', '/run/netns/vml-absent');
    const deps: Partial<LaunchDeps> = {
      chooseAccelerator: () => Promise.resolve({ accel: 'tcg', reason: 'test', cached: false }),
      attach: () => Promise.reject(missing),
      spawnQemu: () => Promise.reject(new Error('no QEMU in this test')),
    };
    const error = await launchWithDeps(
      {
        kernel,
        sandbox: false,
        endpoints: [{ endpoint: { kind: 'tap', name: 'tap0' }, netns: 'vml-absent' }],
      },
      deps,
    ).catch((e: unknown) => e);
    expect(error).toBe(missing);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).not.toBeInstanceOf(LaunchError);
  });
});
