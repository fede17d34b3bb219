import { describe, expect, it } from 'vitest';
import { parseRunAsFlag, parseSandboxFlag } from '../../../../launcher/cli/confinement-flags.js';
import { UsageError } from '../../../../launcher/cli/usage.js';

const USAGE = 'vmlaunch run ...';

describe('vmlaunch run --sandbox', () => {
  it('is on when not given, and on/off as words', () => {
    expect(parseSandboxFlag(undefined, USAGE)).toBe(true);
    expect(parseSandboxFlag('on', USAGE)).toBe(true);
    expect(parseSandboxFlag('off', USAGE)).toBe(false);
  });

  it('takes groups as QEMU spells them and hands launch() its own keys', () => {
    expect(parseSandboxFlag('spawn=allow,elevateprivileges=children', USAGE)).toEqual({
      spawn: 'allow',
      elevatePrivileges: 'children',
    });
    expect(parseSandboxFlag('resourcecontrol=allow,obsolete=deny', USAGE)).toEqual({
      resourceControl: 'allow',
      obsolete: 'deny',
    });
  });

  it.each(['spwan=allow', 'spawn', 'spawn=allow=deny', 'elevatePrivileges=allow', ''])(
    'refuses "%s" with the usage line',
    (value) => {
      expect(() => parseSandboxFlag(value, USAGE)).toThrow(UsageError);
    },
  );
});

describe('vmlaunch run --run-as', () => {
  it('takes a user name or UID:GID', () => {
    expect(parseRunAsFlag(undefined, USAGE)).toBeUndefined();
    expect(parseRunAsFlag('nobody', USAGE)).toEqual({ user: 'nobody' });
    expect(parseRunAsFlag('1234:1235', USAGE)).toEqual({ uid: 1234, gid: 1235 });
  });

  it('refuses an empty value', () => {
    expect(() => parseRunAsFlag('', USAGE)).toThrow(UsageError);
  });
});
