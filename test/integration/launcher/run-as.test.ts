// runAs on this host, as root: the identity from NSS, file access checked as that uid by the
// kernel itself (setpriv + test), the refusals that come before anything is spawned, and a
// process started under it that is still tied to us (parent-death signal) and really dropped.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectKvmDevice } from '../../../launcher/accel.js';
import { accelForIdentity, KVM_DEVICE, requireKvmDevice } from '../../../launcher/confinement.js';
import { launch, launchWithDeps } from '../../../launcher/launch.js';
import { checkPathsAs } from '../../../launcher/run-as-access.js';
import { resolveRunAs, type QemuIdentity } from '../../../launcher/run-as.js';
import { ValidationError } from '../../../core/index.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

function rootAndNobodyMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to change uids)';
  try {
    execFileSync('getent', ['passwd', 'nobody'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs a user "nobody"';
  }
}

function processState(pid: number): string | undefined {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

describe.runIf(prerequisite('runAs as root', rootAndNobodyMissing()))('runAs on this host', () => {
  let dir = '';
  let open = '';
  let closed = '';
  let nobody: QemuIdentity;
  const noNetns = { netnsFilter: () => false };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-runas-'));
    chmodSync(dir, 0o755);
    open = join(dir, 'open');
    closed = join(dir, 'closed');
    mkdirSync(open, { mode: 0o755 });
    mkdirSync(closed, { mode: 0o700 });
    for (const d of [open, closed]) writeFileSync(join(d, 'vmlinuz'), 'kernel', { mode: 0o644 });
    writeFileSync(join(open, 'secret'), 'x', { mode: 0o600 });
    nobody = await resolveRunAs({ user: 'nobody' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves nobody to the ids `id` reports', () => {
    const id = (flag: string): string => execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' });
    expect(nobody.uid).toBe(Number(id('-u')));
    expect(nobody.gid).toBe(Number(id('-g')));
    expect(nobody.groups).toEqual(id('-G').trim().split(' ').map(Number));
  });

  it('lets through the files that uid can read', async () => {
    await checkPathsAs(nobody, [{ path: join(open, 'vmlinuz'), access: 'read', field: 'kernel' }]);
  });

  it('names the directory that uid may not enter', async () => {
    const error = await checkPathsAs(nobody, [
      { path: join(open, 'vmlinuz'), access: 'read', field: 'kernel' },
      { path: join(closed, 'vmlinuz'), access: 'read', field: 'initrd' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'initrd', code: 'RUN_AS_ACCESS' });
    expect((error as Error).message).toContain(`may not enter the directory ${closed} (mode 0700`);
  });

  it("names the file's own mode when that is what stops it, and lists every refusal", async () => {
    const error = await checkPathsAs(nobody, [
      { path: join(open, 'secret'), access: 'read', field: 'kernel' },
      { path: join(closed, 'vmlinuz'), access: 'read', field: 'initrd' },
    ]).catch((e: unknown) => e);
    expect(error).toMatchObject({ path: 'kernel', code: 'RUN_AS_ACCESS' });
    expect((error as Error).message).toContain(`the file is ${join(open, 'secret')} (mode 0600`);
    expect((error as Error).message).toContain(`also refused: ${join(closed, 'vmlinuz')}`);
  });

  it('refuses a kernel that uid cannot read before spawning anything', async () => {
    const before = takeSnapshot(noNetns);
    const error = await launch({
      kernel: join(closed, 'vmlinuz'),
      accel: 'tcg',
      runAs: { user: 'nobody' },
      // Unjailed runAs: QEMU opens the kernel by path (jailed, it gets an fd).
      confine: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'kernel', code: 'RUN_AS_ACCESS' });
    expect(diffSnapshots(before, takeSnapshot(noNetns))).toEqual([]);
  });

  it('refuses a vhost-user socket QEMU would create, before attaching anything', async () => {
    const attached: string[] = [];
    const error = await launchWithDeps(
      {
        kernel: join(open, 'vmlinuz'),
        accel: 'tcg',
        runAs: { user: 'nobody' },
        confine: false,
        endpoints: [
          { endpoint: { kind: 'vhost-user', socketPath: join(dir, 'vu.sock'), mode: 'server' } },
        ],
      },
      {
        attach: (_e, ctx) => {
          attached.push(ctx.nicId);
          return Promise.reject(new Error('must not be reached'));
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      path: 'endpoints[0].endpoint',
      code: 'RUN_AS_VHOST_USER_SERVER',
    });
    expect(attached).toEqual([]);
  });

  // The KVM node is a file the test makes, so the decision is checked on every host; whether
  // that uid may open it is the kernel's answer (setpriv + test), as for the real /dev/kvm.
  it('keeps KVM when that uid can open the KVM device, and says why not when it cannot', async () => {
    const kvm = { accel: 'kvm' as const, reason: 'probe', cached: false };
    const open = join(dir, 'kvm-open');
    const closed = join(dir, 'kvm-closed');
    writeFileSync(open, '', { mode: 0o666 });
    chmodSync(open, 0o666);
    writeFileSync(closed, '', { mode: 0o600 });
    expect(await accelForIdentity(kvm, nobody, 'kvm', open)).toBe(kvm);
    expect(await accelForIdentity(kvm, nobody, 'auto', open)).toBe(kvm);
    const error = await accelForIdentity(kvm, nobody, 'kvm', closed).catch((e: unknown) => e);
    expect(error).toMatchObject({ path: 'accel', code: 'RUN_AS_ACCESS' });
    const auto = await accelForIdentity(kvm, nobody, 'auto', closed);
    expect(auto.accel).toBe('tcg');
    expect(auto.reason).toContain(`KVM is present but unusable as`);
    expect(auto.reason).toContain(`cannot open ${closed}`);
  });

  it('falls back to TCG naming the missing KVM device, and refuses an explicit kvm', async () => {
    const kvm = { accel: 'kvm' as const, reason: 'probe', cached: false };
    const missing = join(dir, 'no-such-kvm');
    const auto = await accelForIdentity(kvm, nobody, 'auto', missing);
    expect(auto).toMatchObject({ accel: 'tcg', cached: false });
    expect(auto.reason).toContain(`KVM is absent: ${missing} does not exist`);
    const error = await accelForIdentity(kvm, nobody, 'kvm', missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'accel', code: 'KVM_UNAVAILABLE' });
  });

  it(`refuses accel 'kvm' before anything starts when ${KVM_DEVICE} is absent or will not open`, async () => {
    const device = inspectKvmDevice();
    if (device.state === 'present') {
      // This host's node opens: the explicit request passes the device check.
      expect(() => requireKvmDevice()).not.toThrow();
      return;
    }
    const before = takeSnapshot(noNetns);
    const error = await launch({ kernel: join(open, 'vmlinuz'), accel: 'kvm' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'accel', code: 'KVM_UNAVAILABLE' });
    expect((error as Error).message).toContain(device.detail);
    expect(diffSnapshots(before, takeSnapshot(noNetns))).toEqual([]);
  });

  it('starts the process under that uid, without capabilities or a way to regain them, tied to us', async () => {
    const sleeper = join(open, 'sleeper');
    writeFileSync(sleeper, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const runner = join(dir, 'runner.mjs');
    const processModule = new URL('../../../launcher/process.ts', import.meta.url).pathname;
    writeFileSync(
      runner,
      `import { spawnQemu } from ${JSON.stringify(processModule)};\n` +
        `const q = await spawnQemu({ binary: ${JSON.stringify(sleeper)}, args: [], ` +
        `runAs: ${JSON.stringify(nobody)} });\n` +
        `process.stdout.write(q.pid + '\\n');\nsetInterval(() => {}, 1000);\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', runner], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        parent.once('exit', () => reject(new Error('the runner exited')));
      });
      await new Promise((r) => setTimeout(r, 200));
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(
        new RegExp(
          `^Uid:\\s+${nobody.uid}\\s+${nobody.uid}\\s+${nobody.uid}\\s+${nobody.uid}$`,
          'm',
        ),
      );
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(new RegExp(`^PPid:\\s+${parent.pid}$`, 'm'));
      parent.kill('SIGKILL');
      let state = processState(pid);
      for (let i = 0; i < 50 && state !== undefined && state !== 'Z'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = processState(pid);
      }
      expect(state === undefined || state === 'Z').toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
