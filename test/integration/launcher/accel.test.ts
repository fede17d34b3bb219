import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { chooseAccelerator, kvmDeviceProblem, probeKvmBoot } from '../../../launcher/accel.js';

// Fake QEMUs stand in for the three outcomes a probe can see; the real one runs below.
const ws = useFakeQemuWorkspace('accel');
const fakeQemu = (name: string, body: string): string => ws.script(name, body);

describe('probeKvmBoot', () => {
  it('says KVM when the probe kernel boots and QEMU exits cleanly', async () => {
    const qemu = fakeQemu(
      'boots',
      'echo "Linux version 6.1.0" >&3; echo "Kernel panic" >&3; exit 0',
    );
    const choice = await probeKvmBoot({ kernel: ws.kernel, qemuBinary: qemu, deadlineMs: 5000 });
    expect(choice.accel).toBe('kvm');
  });

  it('says TCG, and why, when the probe prints nothing before the deadline', async () => {
    const qemu = fakeQemu('hangs', 'exec sleep 30');
    const choice = await probeKvmBoot({ kernel: ws.kernel, qemuBinary: qemu, deadlineMs: 300 });
    expect(choice.accel).toBe('tcg');
    expect(choice.reason).toMatch(/printed nothing within 300 ms/);
  });

  it('says TCG with what QEMU said when it fails under KVM', async () => {
    const qemu = fakeQemu(
      'fails',
      'echo "failed to initialize kvm: Permission denied" >&2; exit 1',
    );
    const choice = await probeKvmBoot({ kernel: ws.kernel, qemuBinary: qemu, deadlineMs: 5000 });
    expect(choice.accel).toBe('tcg');
    expect(choice.reason).toContain('failed to initialize kvm: Permission denied');
  });
});

describe('chooseAccelerator', () => {
  it('obeys VMLAUNCH_ACCEL', async () => {
    const choice = await chooseAccelerator({ kernel: ws.kernel, env: { VMLAUNCH_ACCEL: 'tcg' } });
    expect(choice).toEqual({ accel: 'tcg', reason: 'forced by VMLAUNCH_ACCEL=tcg', cached: false });
  });

  it('names a missing KVM device', () => {
    expect(kvmDeviceProblem(join(ws.dir, 'no-kvm'))).toMatch(/does not exist/);
  });

  it('probes once and then answers from the cache (or names why /dev/kvm is unusable)', async () => {
    const problem = kvmDeviceProblem();
    if (problem !== undefined) {
      const choice = await chooseAccelerator({ kernel: ws.kernel, cacheFile: false, env: {} });
      expect(choice).toMatchObject({ accel: 'tcg', cached: false });
      expect(choice.reason).toContain(problem);
      return;
    }
    const qemu = fakeQemu(
      'counts',
      `echo run >> ${join(ws.dir, 'runs')}; echo "Linux version x" >&3; exit 0`,
    );
    const cacheFile = join(ws.dir, 'accel.json');
    const first = await chooseAccelerator({
      kernel: ws.kernel,
      qemuBinary: qemu,
      cacheFile,
      env: {},
    });
    const second = await chooseAccelerator({
      kernel: ws.kernel,
      qemuBinary: qemu,
      cacheFile,
      env: {},
    });
    expect(first).toMatchObject({ accel: 'kvm', cached: false });
    expect(second).toMatchObject({ accel: 'kvm', cached: true });
    expect(existsSync(cacheFile)).toBe(true);
  });

  it('lets twenty callers that miss the cache together share one probe boot (T28)', async () => {
    const problem = kvmDeviceProblem();
    if (problem !== undefined) {
      const choice = await chooseAccelerator({ kernel: ws.kernel, cacheFile: false, env: {} });
      expect(choice.reason).toContain(problem);
      return;
    }
    const runs = join(ws.dir, 'together-runs');
    const qemu = fakeQemu(
      'together',
      `echo run >> ${runs}; sleep 0.3; echo "Linux version x" >&3; exit 0`,
    );
    const cacheFile = join(ws.dir, 'together.json');
    const choices = await Promise.all(
      Array.from({ length: 20 }, () =>
        chooseAccelerator({ kernel: ws.kernel, qemuBinary: qemu, cacheFile, env: {} }),
      ),
    );
    expect(choices.every((c) => c.accel === 'kvm' && !c.cached)).toBe(true);
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
  });
});
