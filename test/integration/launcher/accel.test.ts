// Fault ids in test names (T21, T28...) are defined in docs/faults.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { chooseAccelerator, inspectKvmDevice, probeKvmBoot } from '../../../launcher/accel.js';
import { inspectHost } from '../../../launcher/host-report.js';
import { defaultGuest } from '../../helpers/guest.js';

// Fake QEMUs stand in for the three outcomes a probe can see, and KVM device nodes the test
// makes itself for the three states of the device, so every case runs on every host.
const ws = useFakeQemuWorkspace('accel');
const fakeQemu = (name: string, body: string): string => ws.script(name, body);

/** A KVM "device" that opens read-write (a plain file: the probe decides from there). */
function presentDevice(): string {
  const path = join(ws.dir, 'kvm-present');
  writeFileSync(path, '');
  return path;
}

/** A character node with no driver behind it (major 241 is reserved for local use): open()
 *  fails with ENXIO, or EACCES where the filesystem is mounted nodev; either way unusable. */
function deadDevice(): string {
  const path = join(ws.dir, 'kvm-dead');
  if (!existsSync(path)) execFileSync('mknod', [path, 'c', '241', '0']);
  return path;
}

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

  it('tells the three states of the KVM device apart', () => {
    expect(inspectKvmDevice(join(ws.dir, 'no-kvm'))).toEqual({
      state: 'absent',
      detail: `${join(ws.dir, 'no-kvm')} does not exist (this host offers no KVM)`,
    });
    expect(inspectKvmDevice(deadDevice())).toMatchObject({
      state: 'unusable',
      code: expect.stringMatching(/^(ENXIO|ENODEV|EACCES)$/) as unknown,
    });
    expect(inspectKvmDevice(presentDevice()).state).toBe('present');
  });

  it('words each case with what it does: absent, present but unusable, usable', async () => {
    const base = { kernel: ws.kernel, cacheFile: false as const, env: {} };
    const absent = await chooseAccelerator({ ...base, kvmDevice: join(ws.dir, 'no-kvm') });
    expect(absent).toMatchObject({ accel: 'tcg', cached: false });
    expect(absent.reason).toMatch(/^KVM is absent: .*no-kvm does not exist.*; using TCG/);
    const dead = await chooseAccelerator({ ...base, kvmDevice: deadDevice() });
    expect(dead.reason).toMatch(
      /^KVM is present but unusable: .*kvm-dead exists but cannot be opened \(E[A-Z]+\); using TCG/,
    );
    const hangs = fakeQemu('hangs-under-kvm', 'exec sleep 30');
    const silent = await chooseAccelerator({
      ...base,
      kvmDevice: presentDevice(),
      qemuBinary: hangs,
      deadlineMs: 300,
    });
    expect(silent.accel).toBe('tcg');
    expect(silent.reason).toMatch(/^KVM is present but unusable: a probe boot .* printed nothing/);
    const boots = fakeQemu('boots-under-kvm', 'echo "Linux version 6.1.0" >&3; exit 0');
    const usable = await chooseAccelerator({
      ...base,
      kvmDevice: presentDevice(),
      qemuBinary: boots,
    });
    expect(usable.accel).toBe('kvm');
    expect(usable.reason).toMatch(
      /^KVM is usable: a probe boot under KVM finished in \d+ ms; using KVM$/,
    );
  });

  it('doctor reports the device state and the same wording', async () => {
    const absent = await inspectHost({ kvmDevice: join(ws.dir, 'no-kvm') });
    expect(absent.kvm.state).toBe('absent');
    expect(absent.accelerator.reason).toMatch(/^KVM is absent: /);
    const dead = await inspectHost({ kvmDevice: deadDevice() });
    expect(dead.kvm.state).toBe('unusable');
    expect(dead.accelerator.reason).toMatch(/^KVM is present but unusable: /);
    const present = await inspectHost({ kvmDevice: presentDevice() });
    expect(present.kvm.state).toBe('present');
    expect(present.accelerator.reason).toMatch(/^KVM is present .* only known after a probe boot/);
  });

  it('probes once and then answers from the cache', async () => {
    const kvmDevice = presentDevice();
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
      kvmDevice,
    });
    const second = await chooseAccelerator({
      kernel: ws.kernel,
      qemuBinary: qemu,
      cacheFile,
      env: {},
      kvmDevice,
    });
    expect(first).toMatchObject({ accel: 'kvm', cached: false });
    expect(second).toMatchObject({ accel: 'kvm', cached: true });
    expect(existsSync(cacheFile)).toBe(true);
  });

  it('lets twenty callers that miss the cache together share one probe boot (T28)', async () => {
    const kvmDevice = presentDevice();
    const runs = join(ws.dir, 'together-runs');
    const qemu = fakeQemu(
      'together',
      `echo run >> ${runs}; sleep 0.3; echo "Linux version x" >&3; exit 0`,
    );
    const cacheFile = join(ws.dir, 'together.json');
    const choices = await Promise.all(
      Array.from({ length: 20 }, () =>
        chooseAccelerator({ kernel: ws.kernel, qemuBinary: qemu, cacheFile, env: {}, kvmDevice }),
      ),
    );
    expect(choices.every((c) => c.accel === 'kvm' && !c.cached)).toBe(true);
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
  });
});

describe('doctor: workload tools and the default guest kernel', () => {
  it('finds qemu-img and virtiofsd (installed by setup) and reads the guest kernel config', async () => {
    const guest = await defaultGuest();
    const report = await inspectHost({
      kvmDevice: join(ws.dir, 'no-kvm'),
      guestManifest: guest.manifest,
    });
    const checks = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(checks['qemu-img']).toMatchObject({ ok: true });
    expect(checks['qemu-img']?.detail).toMatch(/^qemu-img version \d/);
    expect(checks.virtiofsd).toMatchObject({ ok: true });
    // Debian's cloud kernel: drives and virtiofs as modules, ext4 built in, no 9p, no ip=.
    expect(checks['guest virtio-blk']?.ok).toBe(true);
    expect(checks['guest virtiofs']?.ok).toBe(true);
    expect(checks['guest ext4']?.detail).toContain('built in');
    expect(checks['guest 9p']?.ok).toBe(false);
    expect(checks['guest ip= autoconf']?.ok).toBe(false);
  }, 120_000);
});
