import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchWithDeps, type LaunchDeps } from '../../../../launcher/launch.js';
import { ValidationError } from '../../../../core/index.js';

// Bad shares are refused before launch() does anything: every dep records its call.
let dir = '';
let kernel = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-launch-shares-'));
  kernel = join(dir, 'vmlinuz');
  writeFileSync(kernel, '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordingDeps(events: string[]): Partial<LaunchDeps> {
  const stop = (name: string) => () => {
    events.push(name);
    return Promise.reject(new Error(`${name} must not be called`));
  };
  return {
    probeSandbox: stop('probe'),
    chooseAccelerator: stop('accelerator'),
    attach: stop('attach'),
    spawnQemu: stop('spawn'),
    connectQmp: stop('qmp'),
  };
}

describe('launch with bad shares', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['a missing directory', [{ hostPath: '/nonexistent/vml' }], 'shares[0].hostPath', 'SHARE_DIR'],
    ['an empty path', [{ hostPath: '' }], 'shares[0].hostPath', 'TYPE'],
    ['not a directory', [{ hostPath: '/dev/null' }], 'shares[0].hostPath', 'SHARE_DIR'],
    [
      'a long tag',
      [{ hostPath: '/tmp', tag: 't'.repeat(37) }],
      'shares[0].tag',
      'SHARE_TAG_LENGTH',
    ],
    [
      'a relative guest path',
      [{ hostPath: '/tmp', mount: 'src' }],
      'shares[0].mount',
      'GUEST_PATH',
    ],
    [
      'a duplicate tag',
      [
        { hostPath: '/tmp', tag: 'a' },
        { hostPath: '/tmp', tag: 'a' },
      ],
      'shares[1].tag',
      'DUPLICATE_ID',
    ],
  ];
  for (const [what, shares, path, code] of cases) {
    it(`${what}: a ValidationError before anything starts`, async () => {
      const events: string[] = [];
      const error: unknown = await launchWithDeps(
        { kernel, shares: shares as never, sandbox: true },
        recordingDeps(events),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ path, code });
      expect(events).toEqual([]);
    });
  }
});
