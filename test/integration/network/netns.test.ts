import { existsSync, fstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { NativeError, closeFd } from '../../../native/index.js';
import { ValidationError } from '../../../core/index.js';
import {
  NetnsError,
  createAnonymousNetns,
  createNetns,
  deleteNetns,
  listNetns,
  netnsPath,
  openNetns,
  type NetnsNative,
} from '../../../network/netns/index.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { ip, ipJson, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

// `ip netns list` as the oracle, not our listNetns.
function ipNetnsNames(): string[] {
  return ipJson<{ name: string }[]>('netns', 'list').map((n) => n.name);
}

// The nsfs inode a 'net:[4026531840]' link names.
function inodeOf(link: string): number {
  const match = /^net:\[(\d+)\]$/.exec(link);
  if (!match) throw new Error(`not a netns link: ${link}`);
  return Number(match[1]);
}

// Every reference to netns `ino` the kernel shows: a process in it, an fd on it, a mount of it.
function holdersOf(ino: number): string[] {
  const link = `net:[${ino}]`;
  const found: string[] = [];
  const read = (path: string): string | undefined => {
    try {
      return readlinkSync(path);
    } catch {
      return undefined; // the process exited or the fd closed while we looked
    }
  };
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (read(`/proc/${pid}/ns/net`) === link) found.push(`process ${pid}`);
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      if (read(`/proc/${pid}/fd/${fd}`) === link) found.push(`fd ${fd} of ${pid}`);
    }
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(link)) found.push('a mount');
  return found;
}

// A NetnsNative that records calls; each method fails if `fail` names it.
function recordingNative(fail?: keyof NetnsNative): { sys: NetnsNative; calls: string[] } {
  const calls: string[] = [];
  const wrap =
    <A extends unknown[]>(name: keyof NetnsNative, real: (...args: A) => void) =>
    (...args: A): void => {
      calls.push(name);
      if (name === fail) {
        throw new NativeError(name, { code: 'EPERM', errno: -1, syscall: 'unshare' });
      }
      real(...args);
    };
  return {
    calls,
    sys: {
      netnsCreate: wrap('netnsCreate', native.netnsCreate),
      mount: wrap('mount', native.mount),
      umount: wrap('umount', native.umount),
    },
  };
}

describe.runIf(prerequisite('network/netns', rootNetnsMissing()))('named netns', () => {
  it('creates a netns that ip netns list shows and ip -n NAME uses, and deletes it', () => {
    const name = uniqueNetnsName('ns');
    const netns = createNetns(name);
    try {
      expect(netns.name).toBe(name);
      expect(netns.path).toBe(`/run/netns/${name}`);
      expect(ipNetnsNames()).toContain(name);
      expect(listNetns()).toContain(name);
      const links = ipJson<{ ifname: string }[]>('-n', name, 'link', 'show');
      expect(links.map((l) => l.ifname)).toEqual(['lo']);
    } finally {
      netns.delete();
    }
    expect(ipNetnsNames()).not.toContain(name);
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
  });

  it('leaves /run/netns a shared mount point, as iproute2 does', () => {
    using _netns = createNetns(uniqueNetnsName('ns'));
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/run/netns');
    expect(line).toMatch(/ shared:\d+/);
  });

  it('gives a handle that `using` deletes, and whose second delete does nothing', () => {
    const name = uniqueNetnsName('ns');
    {
      using netns = createNetns(name);
      expect(ipNetnsNames()).toContain(netns.name);
    }
    expect(ipNetnsNames()).not.toContain(name);
    const again = createNetns(name);
    again.delete();
    expect(() => again.delete()).not.toThrow();
  });

  it('refuses a taken name with EEXIST and leaves the existing netns as it was', () => {
    const name = uniqueNetnsName('ns');
    using _first = createNetns(name);
    const inode = statSync(netnsPath(name)).ino;
    const before = takeSnapshot({ netns: [name], netnsFilter: (n) => n === name });
    const error = catchError(() => createNetns(name));
    expect(error).toBeInstanceOf(NetnsError);
    expect(error).toMatchObject({ code: 'EEXIST', operation: 'create', netns: name });
    expect(statSync(netnsPath(name)).ino).toBe(inode);
    expect(
      diffSnapshots(before, takeSnapshot({ netns: [name], netnsFilter: (n) => n === name })),
    ).toEqual([]);
  });

  it('removes the placeholder file when binding the new netns fails', () => {
    const name = uniqueNetnsName('ns');
    const { sys, calls } = recordingNative('netnsCreate');
    const error = catchError(() => createNetns(name, sys));
    expect(error).toMatchObject({ code: 'EPERM', operation: 'create', rollbackError: undefined });
    expect(calls).toContain('netnsCreate');
    expect(existsSync(netnsPath(name))).toBe(false);
    expect(ipNetnsNames()).not.toContain(name);
  });

  it('deletes a netns made by ip netns add', () => {
    const name = uniqueNetnsName('ns');
    ip('netns', 'add', name);
    expect(listNetns()).toContain(name);
    deleteNetns(name);
    expect(ipNetnsNames()).not.toContain(name);
  });

  it('reports deleting a missing netns as a NetnsError with code ENOENT', () => {
    const name = uniqueNetnsName('gone');
    const error = catchError(() => deleteNetns(name));
    expect(error).toBeInstanceOf(NetnsError);
    expect(error).toMatchObject({ code: 'ENOENT', operation: 'delete', netns: name });
    expect((error as Error).message).toContain(name);
  });

  it('opens a named netns as an fd on the same namespace the file is bound to', () => {
    using netns = createNetns(uniqueNetnsName('ns'));
    for (const ref of [netns.name, netns.path]) {
      const fd = openNetns(ref);
      try {
        expect(fstatSync(fd).ino).toBe(statSync(netns.path).ino);
        expect(fstatSync(fd).dev).toBe(statSync('/proc/self/ns/net').dev); // nsfs
      } finally {
        closeFd(fd);
      }
    }
  });

  it('refuses to open a missing netns (NETNS_NOT_FOUND) or a file that is no netns (EINVAL), keeping no fd', () => {
    const before = takeSnapshot({ children: false });
    const name = uniqueNetnsName('gone');
    expect(catchError(() => openNetns(name))).toMatchObject({
      code: 'NETNS_NOT_FOUND',
      value: name,
      file: netnsPath(name),
    });
    expect(catchError(() => openNetns('/proc/self/stat'))).toMatchObject({ code: 'EINVAL' });
    expect(diffSnapshots(before, takeSnapshot({ children: false }))).toEqual([]);
  });

  it.each(['', '.', '..', 'a/b', '../etc', 'a b', '-x', 'x'.repeat(256), 'é', 'a\n'])(
    'rejects the name %j before any syscall',
    (name) => {
      const { sys, calls } = recordingNative();
      const before = takeSnapshot({ children: false });
      expect(() => createNetns(name, sys)).toThrow(ValidationError);
      expect(() => deleteNetns(name, sys)).toThrow(ValidationError);
      expect(() => netnsPath(name)).toThrow(ValidationError);
      if (!name.startsWith('/')) expect(() => openNetns(name)).toThrow(ValidationError);
      expect(calls).toEqual([]);
      expect(diffSnapshots(before, takeSnapshot({ children: false }))).toEqual([]);
    },
  );
});

describe.runIf(prerequisite('network/netns', rootNetnsMissing()))('anonymous netns', () => {
  it('is a different namespace from ours, usable through its /proc/self/fd path', () => {
    using netns = createAnonymousNetns();
    expect(netns.path).toBe(`/proc/self/fd/${netns.fd}`);
    const own = inodeOf(readlinkSync('/proc/thread-self/ns/net'));
    const its = inodeOf(readlinkSync(netns.path));
    expect(its).not.toBe(own);
    const tap = native.tapOpen(netns.path, 'vt0');
    try {
      expect(tap.name).toBe('vt0');
      const hostLinks = ipJson<{ ifname: string }[]>('link', 'show').map((l) => l.ifname);
      expect(hostLinks).not.toContain('vt0'); // it lives in the anonymous netns, not ours
    } finally {
      native.closeAll(tap.fds);
    }
  });

  it('vanishes when closed: nothing refers to it any more', () => {
    const netns = createAnonymousNetns();
    const ino = inodeOf(readlinkSync(netns.path));
    expect(holdersOf(ino)).toEqual([`fd ${netns.fd} of ${process.pid}`]);
    netns.close();
    expect(holdersOf(ino)).toEqual([]);
    expect(() => netns.close()).not.toThrow();
  });
});

// Runs fn and returns what it threw (fails the test if it did not throw).
function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
