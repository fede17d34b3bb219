// The jail's policy as data: option checking, the helper's step list and its order, the cgroup
// layout chosen from a fake /sys/fs/cgroup, and id leases (real flocks in a temp directory).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import { jailExecArgs, resolveJail, type OpenJail } from '../../../launcher/jail.js';
import { ownCgroup, planCgroup } from '../../../launcher/jail-cgroup.js';
import { leaseId } from '../../../launcher/jail-ids.js';
import { replaceArg } from '../../../launcher/jail-boot-files.js';

const dirs: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vml-jail-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('resolveJail', () => {
  it('is on by default, off only for false, and fills defaults', () => {
    expect(resolveJail(undefined)).toMatchObject({ pids: 1024, openFiles: 4096 });
    expect(resolveJail(true)?.fileSizeMiB).toBe('unlimited');
    expect(resolveJail(false)).toBeUndefined();
    expect(resolveJail({ pids: 64, fileSizeMiB: 10 })).toMatchObject({ pids: 64, fileSizeMiB: 10 });
  });

  it('refuses unknown keys, bad numbers and ranges that reach root or past 31 bits', () => {
    expect(() => resolveJail({ pid: 1 })).toThrow(ValidationError);
    expect(() => resolveJail({ pids: 0 })).toThrow(/confine.pids/);
    expect(() => resolveJail({ openFiles: 1.5 })).toThrow(ValidationError);
    expect(() => resolveJail({ idRange: { first: 0, count: 10 } })).toThrow(/idRange/);
    expect(() => resolveJail({ idRange: { first: 2 ** 31 - 5, count: 10 } })).toThrow(/idRange/);
    expect(() => resolveJail('yes')).toThrow(ValidationError);
  });
});

describe('jailExecArgs', () => {
  const open: OpenJail = {
    identity: { uid: 1500000007, gid: 1500000007, groups: [] },
    cgroup: {
      version: 1,
      dirs: [],
      procsFiles: ['/cg/memory/x/cgroup.procs'],
      remove: async () => {},
    },
    dir: '/run/vmlaunch/.vm/abcd/jail',
    heldFds: [9],
    close: async () => {},
  };

  it('joins the cgroup and sets rlimits before the mount namespace, ids after it, death signal last', () => {
    const args = jailExecArgs(resolveJail(true)!, open, { kvm: false });
    const at = (word: string): number => args.indexOf(word);
    expect(at('--cgroup-join')).toBe(0);
    expect(at('--rlimit')).toBeLessThan(at('--unshare-mount'));
    expect(at('--unshare-mount')).toBeLessThan(at('--tmpfs'));
    expect(at('--bind')).toBeLessThan(at('--readonly-tree'));
    expect(at('--readonly-tree')).toBeLessThan(at('--writable'));
    expect(at('--drop-bounding')).toBeLessThan(at('--ids'));
    expect(args.slice(-2)).toEqual(['--pdeathsig', '9']);
    expect(args.join(' ')).toContain('--ids 1500000007 1500000007');
    expect(args.join(' ')).toContain('--rlimit nproc 1024 1024');
    expect(args.join(' ')).toContain('--rlimit fsize inf inf');
    expect(args.join(' ')).toContain('--rlimit core 0 0');
  });

  it('adds /dev/kvm only for KVM; a shared (runAs) uid gets no per-uid process limit', () => {
    const tcg = jailExecArgs(resolveJail(true)!, open, { kvm: false }).join(' ');
    expect(tcg).not.toContain('/dev/kvm');
    const kvm = jailExecArgs(resolveJail(true)!, open, { kvm: true }).join(' ');
    expect(kvm).toContain('--mknod /dev/kvm 10 232');
    const shared = jailExecArgs(
      resolveJail({ fileSizeMiB: 2 })!,
      { ...open, heldFds: [] },
      { kvm: false },
    );
    expect(shared.join(' ')).not.toContain('nproc');
    expect(shared.join(' ')).toContain(`--rlimit fsize ${2 * 1024 * 1024} ${2 * 1024 * 1024}`);
  });
});

describe('planCgroup', () => {
  const self = '9:name=systemd:/\n8:pids:/\n4:memory:/outer/inner\n0::/svc/me\n';

  it('reads our own cgroup per controller and for v2', () => {
    expect(ownCgroup(self, 'memory')).toBe('/outer/inner');
    expect(ownCgroup(self, 'pids')).toBe('/');
    expect(ownCgroup(self, undefined)).toBe('/svc/me');
  });

  it('uses v1 memory and pids (nested under ours) when v2 offers neither controller', () => {
    const root = temp();
    mkdirSync(join(root, 'unified'));
    writeFileSync(join(root, 'unified', 'cgroup.controllers'), '\n');
    for (const c of ['memory', 'pids']) {
      mkdirSync(join(root, c));
      writeFileSync(join(root, c, 'cgroup.procs'), '');
    }
    expect(planCgroup('ab12', root, self)).toEqual({
      version: 1,
      dirs: [join(root, 'memory/outer/inner/vmlaunch-ab12'), join(root, 'pids/vmlaunch-ab12')],
    });
  });

  it('prefers v2 (hybrid unified, or the root) when it has memory and pids: a sibling of ours', () => {
    const hybrid = temp();
    mkdirSync(join(hybrid, 'unified'));
    writeFileSync(join(hybrid, 'unified', 'cgroup.controllers'), 'cpu memory io pids\n');
    expect(planCgroup('ab12', hybrid, self)).toEqual({
      version: 2,
      dirs: [join(hybrid, 'unified', 'svc', 'vmlaunch-ab12')],
    });
    const pure = temp();
    writeFileSync(join(pure, 'cgroup.controllers'), 'memory pids\n');
    expect(planCgroup('ab12', pure, '0::/\n').dirs).toEqual([join(pure, 'vmlaunch-ab12')]);
  });

  it('names confine: false when there is no usable hierarchy', () => {
    expect(() => planCgroup('ab12', temp(), self)).toThrow(/confine: false/);
  });
});

describe('leaseId', () => {
  it('never hands out a held id, and frees it once released', () => {
    const dir = temp();
    const range = { first: 1000, count: 2 };
    const a = leaseId(range, dir);
    const b = leaseId(range, dir);
    expect(new Set([a.id, b.id])).toEqual(new Set([1000, 1001]));
    expect(() => leaseId(range, dir)).toThrow(/in use/);
    a.release();
    a.release(); // idempotent
    const again = leaseId(range, dir);
    expect(again.id).toBe(a.id);
    again.release();
    b.release();
  });
});

describe('replaceArg', () => {
  it('replaces only the word after the flag when it is the expected one', () => {
    const argv = ['qemu', '-kernel', '/k', '-append', '/k'];
    expect(replaceArg(argv, '-kernel', '/k', '/proc/self/fd/5')).toEqual([
      'qemu',
      '-kernel',
      '/proc/self/fd/5',
      '-append',
      '/k',
    ]);
    expect(replaceArg(argv, '-initrd', '/k', 'x')).toBe(argv);
  });
});
