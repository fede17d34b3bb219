// Which NICs QEMU's jail refuses, and that it says why (jail-nics.ts), at launch
// (prepareConfinement, before anything exists) and for one endpoint (hot-plug's check).
import { describe, expect, it } from 'vitest';
import { prepareConfinement } from '../../../launcher/confinement.js';
import { checkJailEndpoint, checkJailHostNic } from '../../../launcher/jail-nics.js';
import type { LaunchOptions } from '../../../launcher/launch-options.js';
import { prerequisite } from '../../helpers/prereq.js';

const vhostUser = {
  kind: 'vhost-user' as const,
  id: 'v0',
  mac: '52:54:00:00:00:0b',
  queues: 1,
  socketPath: '/run/vu/0.sock',
  mode: 'client' as const,
};
const vfio = { kind: 'vfio' as const, id: 'p0', pciAddress: '0000:01:00.0' };

// The error `fn` throws (fails the test when it throws none).
function caught(fn: () => void): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('checkJailEndpoint / checkJailHostNic', () => {
  it('refuses vhost-user naming the fd-passing limit, VFIO naming /dev/vfio', () => {
    const vu = {
      kind: 'vhost-user' as const,
      socketPath: '/run/vu/0.sock',
      mode: 'server' as const,
    };
    const error = caught(() => checkJailEndpoint(vu, 'endpoint'));
    expect(error).toMatchObject({ code: 'JAIL_NIC', path: 'endpoint' });
    expect(error.message).toMatch(/fd-passing feature.*confine: false/);
    const physical = { kind: 'physical' as const, pciAddress: '0000:01:00.0' };
    expect(() => checkJailEndpoint(physical, 'endpoint')).toThrow(/\/dev\/vfio\/N/);
    expect(() => checkJailHostNic(vhostUser, 'nics[0]')).toThrow(/vhost-user netdev/);
    expect(() => checkJailHostNic(vfio, 'nics[1]')).toThrow(/vfio-pci takes no fd/);
  });

  it('lets fd-backed kinds through', () => {
    expect(() => checkJailEndpoint({ kind: 'tap', name: 'vml-t0' }, 'endpoint')).not.toThrow();
  });
});

// Any world-readable file and any executable reachable by others pass the boot-file checks.
const base: LaunchOptions = { kernel: process.execPath, qemu: process.execPath };
const euid = process.geteuid?.() ?? -1;

describe.runIf(prerequisite('jail NIC checks at launch', euid === 0 ? undefined : 'needs root'))(
  'prepareConfinement and NICs',
  () => {
    it('refuses them jailed with the field, takes them with confine: false', async () => {
      await expect(
        prepareConfinement({
          ...base,
          endpoints: [
            { endpoint: { kind: 'vhost-user', socketPath: '/run/vu/0.sock', mode: 'client' } },
          ],
        }),
      ).rejects.toMatchObject({ code: 'JAIL_NIC', path: 'endpoints[0].endpoint' });
      await expect(prepareConfinement({ ...base, nics: [vfio] })).rejects.toMatchObject({
        code: 'JAIL_NIC',
        path: 'nics[0]',
      });
      const free = await prepareConfinement({ ...base, confine: false, nics: [vhostUser, vfio] });
      expect(free.jail).toBeUndefined();
    });
  },
);
