import { describe, expect, it } from 'vitest';
import { UnsupportedError, ValidationError } from '../../../core/index.js';
import type { HostNic } from '../../../network/host-nic.js';
import { nicPathNeeds } from '../../../launcher/run-as-access.js';
import {
  describeIdentity,
  resolveRunAs,
  setprivIdentityArgs,
  type RunAsDeps,
} from '../../../launcher/run-as.js';

// NSS as getent and id would answer it, from a table; anything else fails like getent (exit 2).
function nss(users: Record<string, { passwd: string; groups: string }>): RunAsDeps & {
  calls: string[][];
} {
  const calls: string[][] = [];
  return {
    calls,
    exec(file, args) {
      calls.push([file, ...args]);
      const name = args.at(-1)!;
      const user = users[name];
      if (!user) return Promise.reject(Object.assign(new Error('not found'), { code: 2 }));
      return Promise.resolve(file === 'getent' ? `${user.passwd}\n` : `${user.groups}\n`);
    },
  };
}

const NSS = nss({
  nobody: { passwd: 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', groups: '65534' },
  qemu: { passwd: 'qemu:x:120:130::/var/lib/qemu:/bin/false', groups: '130 108 130' },
  toor: { passwd: 'toor:x:0:0::/root:/bin/sh', groups: '0' },
  wheelie: { passwd: 'wheelie:x:1001:1001::/home/w:/bin/sh', groups: '1001 0' },
});

// The error a promise rejects with.
const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('resolving runAs', () => {
  it('takes a user name to its uid, primary gid and groups, asking NSS by name', async () => {
    const deps = nss({
      qemu: { passwd: 'qemu:x:120:130::/var/lib/qemu:/bin/false', groups: '130 108 130' },
    });
    expect(await resolveRunAs({ user: 'qemu' }, 'runAs', deps)).toEqual({
      user: 'qemu',
      uid: 120,
      gid: 130,
      groups: [130, 108],
    });
    expect(deps.calls).toEqual([
      ['getent', 'passwd', '--', 'qemu'],
      ['id', '-G', '--', 'qemu'],
    ]);
  });

  it('takes explicit ids as they are, with no supplementary groups unless given', async () => {
    expect(await resolveRunAs({ uid: 1234, gid: 1234 }, 'runAs', NSS)).toEqual({
      uid: 1234,
      gid: 1234,
      groups: [],
    });
    expect(await resolveRunAs({ uid: 5, gid: 6, groups: [7] }, 'runAs', NSS)).toMatchObject({
      groups: [7],
    });
  });

  it('calls a user NSS does not know a ValidationError', async () => {
    const error = await rejection(resolveRunAs({ user: 'nosuchuser' }, 'runAs', NSS));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'runAs.user', code: 'UNKNOWN_USER' });
  });

  it('calls a lookup that cannot run an UnsupportedError, not an unknown user', async () => {
    const broken: RunAsDeps = {
      exec: () =>
        Promise.reject(Object.assign(new Error('spawn getent ENOENT'), { code: 'ENOENT' })),
    };
    expect(await rejection(resolveRunAs({ user: 'nobody' }, 'runAs', broken))).toBeInstanceOf(
      UnsupportedError,
    );
  });

  it.each([
    ['a user that is root', { user: 'toor' }, 'runAs.uid', 'RUN_AS_ROOT'],
    ['a user in the root group', { user: 'wheelie' }, 'runAs.groups[1]', 'RUN_AS_ROOT'],
    ['uid 0', { uid: 0, gid: 100 }, 'runAs.uid', 'RUN_AS_ROOT'],
    ['gid 0', { uid: 100, gid: 0 }, 'runAs.gid', 'RUN_AS_ROOT'],
    ['group 0', { uid: 100, gid: 100, groups: [5, 0] }, 'runAs.groups[1]', 'RUN_AS_ROOT'],
    ['uid -1 (which means "unchanged")', { uid: 4294967295, gid: 1 }, 'runAs.uid', 'RUN_AS'],
    ['a fractional uid', { uid: 1.5, gid: 1 }, 'runAs.uid', 'RUN_AS'],
    ['a string uid', { uid: '1000', gid: 1 }, 'runAs.uid', 'RUN_AS'],
    ['groups that are not an array', { uid: 1, gid: 1, groups: '5' }, 'runAs.groups', 'RUN_AS'],
    ['a uid without gid', { uid: 1000 }, 'runAs', 'RUN_AS'],
    ['user and uid together', { user: 'nobody', uid: 1 }, 'runAs', 'RUN_AS'],
    ['an unknown key', { user: 'nobody', home: '/' }, 'runAs', 'RUN_AS'],
    ['an empty object', {}, 'runAs', 'RUN_AS'],
    ['null', null, 'runAs', 'RUN_AS'],
    ['a bare string', 'nobody', 'runAs', 'RUN_AS'],
    ['an empty user name', { user: '' }, 'runAs.user', 'RUN_AS'],
    ['a user name that looks like an option', { user: '--help' }, 'runAs.user', 'RUN_AS'],
    ['a user name with a line break', { user: 'a\nb' }, 'runAs.user', 'QEMU_ARG_CONTROL_CHAR'],
    ['a user name with a colon', { user: 'a:b' }, 'runAs.user', 'RUN_AS'],
  ])('refuses %s', async (_what, option, path, code) => {
    const error = await rejection(resolveRunAs(option, 'runAs', NSS));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path, code });
  });
});

describe('the identity setpriv sets', () => {
  it('changes real and effective ids, sets the groups exactly, and forbids regaining privileges', () => {
    expect(setprivIdentityArgs({ uid: 120, gid: 130, groups: [130, 108] })).toEqual([
      '--reuid=120',
      '--regid=130',
      '--groups=130,108',
      '--no-new-privs',
    ]);
  });

  it('clears the supplementary groups when there are none (root keeps none of its own)', () => {
    expect(setprivIdentityArgs({ uid: 1234, gid: 1234, groups: [] })).toEqual([
      '--reuid=1234',
      '--regid=1234',
      '--clear-groups',
      '--no-new-privs',
    ]);
  });

  it('is described by name when it has one', () => {
    expect(describeIdentity({ user: 'nobody', uid: 65534, gid: 65534, groups: [] })).toBe(
      'nobody (uid 65534)',
    );
    expect(describeIdentity({ uid: 7, gid: 7, groups: [] })).toBe('uid 7');
  });
});

describe('what a lower uid must reach for the boot NICs', () => {
  const vhostUser = (mode: 'client' | 'server'): HostNic => ({
    kind: 'vhost-user',
    id: 'vu',
    mac: '52:54:00:00:00:01',
    queues: 1,
    socketPath: '/run/backend/vu.sock',
    mode,
  });

  it('needs nothing for tap NICs: their fds are inherited', () => {
    const needs = nicPathNeeds(
      [{ endpoint: { kind: 'tap', name: 'vmlt0' } }],
      [
        {
          kind: 'tap',
          id: 't',
          mac: '52:54:00:00:00:02',
          mtu: 1500,
          tapFds: [30],
          vhostFds: [],
          vhost: { enabled: false },
          ifname: 'vmlt1',
        },
      ],
    );
    expect(needs).toEqual([]);
  });

  it("needs write access to a vhost-user backend's socket (client mode)", () => {
    expect(nicPathNeeds([], [vhostUser('client')])).toEqual([
      { path: '/run/backend/vu.sock', access: 'write', field: 'nics[0]' },
    ]);
    expect(
      nicPathNeeds(
        [{ endpoint: { kind: 'vhost-user', socketPath: '/run/b.sock', mode: 'client' } }],
        [],
      ),
    ).toEqual([{ path: '/run/b.sock', access: 'write', field: 'endpoints[0].endpoint' }]);
  });

  it('refuses a vhost-user socket QEMU would have to create (server mode)', () => {
    expect(() => nicPathNeeds([], [vhostUser('server')])).toThrow(
      expect.objectContaining({ path: 'nics[0]', code: 'RUN_AS_VHOST_USER_SERVER' }),
    );
  });

  it('refuses VFIO pass-through', () => {
    expect(() =>
      nicPathNeeds([{ endpoint: { kind: 'physical', pciAddress: '0000:01:00.0' } }], []),
    ).toThrow(expect.objectContaining({ path: 'endpoints[0].endpoint', code: 'RUN_AS_VFIO' }));
  });
});
