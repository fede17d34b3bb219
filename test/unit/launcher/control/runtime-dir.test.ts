// Fault ids in test names (T21, T28...) are defined in docs/faults.md.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlError } from '../../../../launcher/control/errors.js';
import {
  claimRuntimeDir,
  releaseRuntimeDir,
  validateVmName,
} from '../../../../launcher/control/runtime-dir.js';

const uid = process.getuid?.() ?? 0;
let root: string;
const notLive = (): Promise<boolean> => Promise.resolve(false);

// Leaves a unix socket file behind, bound by a process that is gone (nothing listens).
function staleSocket(path: string): void {
  execFileSync('python3', [
    '-c',
    'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])',
    path,
  ]);
}

// The ControlError code `fn` rejects with.
async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ControlError);
    return (error as ControlError).code;
  }
  return 'resolved';
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vml-rt-'));
  chmodSync(root, 0o755);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('runtime dir', () => {
  it('makes a private dir (0700, ours) and removes it on release', async () => {
    const rt = await claimRuntimeDir('vm1', notLive, { root });
    const st = lstatSync(rt.dir);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(uid);
    expect(rt).toMatchObject({
      name: 'vm1',
      created: true,
      socket: join(root, 'vm1', 'control.sock'),
    });
    expect(releaseRuntimeDir(rt, undefined)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses a symlinked runtime dir (T21) and leaves its target alone', async () => {
    const target = join(root, 'elsewhere');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(root, 'vm1'));
    expect(await codeOf(() => claimRuntimeDir('vm1', notLive, { root }))).toBe(
      'UNSAFE_RUNTIME_DIR',
    );
    expect(lstatSync(join(root, 'vm1')).isSymbolicLink()).toBe(true);
  });

  it('refuses a symlinked runtime root', async () => {
    const real = join(root, 'real');
    mkdirSync(real, { mode: 0o755 });
    symlinkSync(real, join(root, 'link'));
    expect(await codeOf(() => claimRuntimeDir('vm1', notLive, { root: join(root, 'link') }))).toBe(
      'UNSAFE_RUNTIME_DIR',
    );
  });

  it('refuses a world-writable dir (mode 0777, T22) and a group-writable root', async () => {
    mkdirSync(join(root, 'vm1'));
    chmodSync(join(root, 'vm1'), 0o777);
    await expect(claimRuntimeDir('vm1', notLive, { root })).rejects.toThrow(
      /world-writable \(mode 0777\)/,
    );
    chmodSync(root, 0o775);
    expect(await codeOf(() => claimRuntimeDir('vm2', notLive, { root }))).toBe(
      'UNSAFE_RUNTIME_DIR',
    );
  });

  it('refuses a readable-by-others dir (0755) and one owned by another user', async () => {
    mkdirSync(join(root, 'vm1'), { mode: 0o755 });
    chmodSync(join(root, 'vm1'), 0o755);
    await expect(claimRuntimeDir('vm1', notLive, { root })).rejects.toThrow(/not private/);
    mkdirSync(join(root, 'vm2'), { mode: 0o700 });
    // As if another user (uid 4321) ran us: the dir's owner is then not "us".
    await expect(claimRuntimeDir('vm2', notLive, { root, uid: 4321 })).rejects.toThrow(
      new RegExp(`owned by uid ${uid}, not by us \\(uid 4321\\)`),
    );
  });

  it('refuses a stale socket it cannot prove is its own, and does not remove it', async () => {
    mkdirSync(join(root, 'vm1'), { mode: 0o700 });
    const socket = join(root, 'vm1', 'control.sock');
    staleSocket(socket);
    const ino = lstatSync(socket).ino;
    expect(await codeOf(() => claimRuntimeDir('vm1', notLive, { root }))).toBe('STALE_SOCKET');
    expect(lstatSync(socket).ino).toBe(ino);
    // owner.json naming a live pid (ours) does not make it reclaimable either.
    writeFileSync(
      join(root, 'vm1', 'owner.json'),
      JSON.stringify({ pid: process.pid, socketIno: ino }),
    );
    expect(await codeOf(() => claimRuntimeDir('vm1', notLive, { root }))).toBe('STALE_SOCKET');
    // Nor does a record of another inode.
    writeFileSync(
      join(root, 'vm1', 'owner.json'),
      JSON.stringify({ pid: 2 ** 22 + 1, socketIno: ino + 1 }),
    );
    expect(await codeOf(() => claimRuntimeDir('vm1', notLive, { root }))).toBe('STALE_SOCKET');
    expect(lstatSync(socket).ino).toBe(ino);
  });

  it('reclaims a socket a dead vmlaunch of ours left (owner pid gone, same inode)', async () => {
    mkdirSync(join(root, 'vm1'), { mode: 0o700 });
    const socket = join(root, 'vm1', 'control.sock');
    staleSocket(socket);
    const ino = lstatSync(socket).ino;
    writeFileSync(
      join(root, 'vm1', 'owner.json'),
      JSON.stringify({ pid: 2 ** 22 + 1, socketIno: ino }),
    );
    const rt = await claimRuntimeDir('vm1', notLive, { root });
    expect(rt.reclaimed).toContain('which is gone');
    expect(readdirSync(rt.dir)).toEqual([]);
  });

  it('says the name is in use when the socket answers', async () => {
    mkdirSync(join(root, 'vm1'), { mode: 0o700 });
    staleSocket(join(root, 'vm1', 'control.sock'));
    expect(await codeOf(() => claimRuntimeDir('vm1', () => Promise.resolve(true), { root }))).toBe(
      'NAME_IN_USE',
    );
  });

  it('refuses socket paths beyond sun_path and names that are not path-safe', async () => {
    const deep = join(root, 'x'.repeat(90));
    mkdirSync(deep, { mode: 0o755 });
    expect(await codeOf(() => claimRuntimeDir('a-rather-long-name', notLive, { root: deep }))).toBe(
      'PATH_TOO_LONG',
    );
    for (const bad of ['', '.', '..', '-x', 'a/b', 'a b', 'é', 'x'.repeat(65)])
      expect(() => validateVmName(bad)).toThrow(ControlError);
    expect(validateVmName('vm_1.test-2')).toBe('vm_1.test-2');
  });

  it('on release unlinks only the socket inode it made and keeps a dir that is not empty', async () => {
    const rt = await claimRuntimeDir('vm1', notLive, { root });
    staleSocket(rt.socket);
    const stranger = lstatSync(rt.socket).ino;
    const left = releaseRuntimeDir(rt, stranger + 1);
    expect(lstatSync(rt.socket).ino).toBe(stranger);
    expect(left.join()).toContain(rt.dir);
  });
});
