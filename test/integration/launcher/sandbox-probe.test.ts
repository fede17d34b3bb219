// The sandbox probe against the real QEMU of this host, and against fake ones that fail the way
// a QEMU without seccomp, or one killed by its own filter, does.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchWithDeps } from '../../../launcher/launch.js';
import { resolveSandbox, SandboxUnsupportedError } from '../../../launcher/sandbox.js';
import { probeSandbox } from '../../../launcher/sandbox-probe.js';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const ws = useFakeQemuWorkspace('sandbox-probe');
const FULL = resolveSandbox(true)!;
const noNetns = { netnsFilter: () => false };

describe.runIf(prerequisite('sandbox probe on real QEMU', qemuMissing()))(
  'the sandbox probe on this host',
  () => {
    it('finds that this QEMU runs under every group denied, and remembers it', async () => {
      const before = takeSnapshot(noNetns);
      await probeSandbox({ policy: FULL });
      const started = performance.now();
      await probeSandbox({ policy: FULL });
      expect(performance.now() - started).toBeLessThan(20);
      expect(diffSnapshots(before, takeSnapshot(noNetns))).toEqual([]);
    });

    it('remembers a passed probe for the next process (a probe QEMU starts only once)', () => {
      const runs = join(ws.dir, 'wrapper-runs');
      const qemu = ws.script('wrapper', `echo run >> ${runs}; exec qemu-system-x86_64 "$@"`);
      const cacheFile = join(ws.dir, 'sandbox-cache.json');
      const module = new URL('../../../launcher/sandbox-probe.ts', import.meta.url).pathname;
      const sandboxModule = new URL('../../../launcher/sandbox.ts', import.meta.url).pathname;
      const script =
        `const { probeSandbox } = await import(${JSON.stringify(module)});\n` +
        `const { resolveSandbox } = await import(${JSON.stringify(sandboxModule)});\n` +
        `await probeSandbox({ qemuBinary: ${JSON.stringify(qemu)}, policy: resolveSandbox(true), ` +
        `cacheFile: ${JSON.stringify(cacheFile)} });\n`;
      const file = join(ws.dir, 'probe-twice.mts');
      writeFileSync(file, script);
      for (let i = 0; i < 2; i++) {
        execFileSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
      }
      expect(readFileSync(runs, 'utf8')).toBe('run\n');
      // Without the file, the next process probes again.
      rmSync(cacheFile);
      execFileSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
      expect(readFileSync(runs, 'utf8')).toBe('run\nrun\n');
    });

    it('probes a different policy again', async () => {
      await probeSandbox({ policy: resolveSandbox({ spawn: 'allow' })! });
    });
  },
);

describe('a QEMU that cannot run the sandbox', () => {
  it("is a SandboxUnsupportedError carrying QEMU's own words", async () => {
    const qemu = ws.script(
      'no-seccomp',
      'echo "qemu-system-x86_64: -sandbox support is not enabled in this QEMU binary" >&2; exit 1',
    );
    const error = await probeSandbox({ qemuBinary: qemu, policy: FULL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxUnsupportedError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED', qemu });
    expect((error as SandboxUnsupportedError).qemuSaid).toContain('not enabled in this QEMU');
    expect((error as Error).message).toContain('exit code 1');
  });

  it('says so when its filter killed it at start (SIGSYS)', async () => {
    const qemu = ws.script('sigsys', 'kill -SYS $$');
    const error = await probeSandbox({ qemuBinary: qemu, policy: FULL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxUnsupportedError);
    expect((error as Error).message).toContain('SIGSYS');
  });

  it('stops launch() before anything is attached or the VM is spawned', async () => {
    const marker = join(ws.dir, 'spawned-twice');
    const counter = join(ws.dir, 'runs');
    writeFileSync(counter, '');
    // The first run is the probe; a second one would be the VM.
    const qemu = ws.script(
      'no-seccomp-counting',
      `[ -s ${counter} ] && touch ${marker}; echo run >> ${counter}; ` +
        'echo "qemu-system-x86_64: -sandbox: Invalid parameter \'resourcecontrol\'" >&2; exit 1',
    );
    const attached: string[] = [];
    const before = takeSnapshot(noNetns);
    const error = await launchWithDeps(
      {
        kernel: ws.kernel,
        accel: 'tcg',
        qemu,
        confine: false, // a fake QEMU in our private temp dir
        endpoints: [{ endpoint: { kind: 'tap', name: 'vmlsbx0' } }],
      },
      {
        attach: (_e, ctx) => {
          attached.push(ctx.nicId);
          return Promise.reject(new Error('must not be reached'));
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxUnsupportedError);
    expect((error as Error).message).toContain("Invalid parameter 'resourcecontrol'");
    expect(attached).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(diffSnapshots(before, takeSnapshot(noNetns))).toEqual([]);
  });
});
