// The generalised QMP plug with drive objects against a recording QMP stand-in: add-fd into
// the drive's own fdset first, blockdev-add for each node, device_add; when device_add is
// refused the undo removes the nodes in reverse and the fdset last.
import { describe, expect, it } from 'vitest';
import { driveDevices } from '../../../../launcher/devices/blockdev-drive.js';
import type { HotplugContext } from '../../../../launcher/hotplug/context.js';
import {
  plugOverQmp,
  type FdsetFd,
  type PlugProgress,
} from '../../../../launcher/hotplug/qmp-plug.js';
import { HotplugRegistry, HOTPLUG_FIRST_FDSET } from '../../../../launcher/hotplug/registry.js';
import { QmpCommandError } from '../../../../launcher/qmp/index.js';
import { UndoStack } from '../../../../core/index.js';

// A QMP client that records what it is asked and refuses `refuse`.
function recordingCtx(refuse?: string) {
  const calls: string[] = [];
  const answer = (what: string, detail: unknown): Promise<unknown> => {
    calls.push(`${what} ${JSON.stringify(detail)}`);
    if (what === refuse) {
      return Promise.reject(
        new QmpCommandError(what, 'GenericError', 'Failed to get "write" lock'),
      );
    }
    return Promise.resolve({});
  };
  const qmp = {
    state: 'ready',
    execute: (cmd: string, args: Record<string, unknown>) => answer(cmd, args),
    addFd: (args: { fdsetId?: number; opaque?: string }) =>
      answer('add-fd', { set: args.fdsetId, opaque: args.opaque }).then(() => ({
        fdsetId: args.fdsetId,
        fd: 9,
      })),
    getfd: (args: { fdname: string }) => answer('getfd', args.fdname),
  };
  const ctx = { qmp, running: () => true } as unknown as HotplugContext;
  return { ctx, calls };
}

// The objects of an ephemeral drive on rp0 with fdsets from a registry, and the fds to pass.
function ephemeralDrive() {
  const registry = new HotplugRegistry(['rp0']);
  const fds: FdsetFd[] = [];
  const devices = driveDevices(
    { id: 'hd', fd: 40, format: 'qcow2', serial: 'hd', backing: { fd: 41, format: 'raw' } },
    {
      transport: 'pci',
      bus: 'rp0',
      fdRef: (fd, role) => {
        const fdset = registry.nextFdset();
        fds.push({ fd, fdset, role: `hd:${role}` });
        return { kind: 'fdset', fdset };
      },
    },
  );
  return { devices, fds };
}

const progress = (): PlugProgress => ({ step: 'x', deviceAdded: false, deviceMaybeAdded: false });

describe('plugOverQmp with a drive', () => {
  it('add-fd per fd into fresh fdsets, then blockdev-add per node, then device_add', async () => {
    const { ctx, calls } = recordingCtx();
    const { devices, fds } = ephemeralDrive();
    const p = progress();
    await plugOverQmp(ctx, fds, devices, new UndoStack(), p, () => 1000);
    const base = HOTPLUG_FIRST_FDSET;
    expect(calls.map((c) => c.split(' ')[0])).toEqual([
      'add-fd',
      'add-fd',
      'blockdev-add',
      'blockdev-add',
      'blockdev-add',
      'blockdev-add',
      'device_add',
    ]);
    expect(calls[0]).toBe(`add-fd {"set":${base},"opaque":"hd:base"}`);
    expect(calls[1]).toBe(`add-fd {"set":${base + 1},"opaque":"hd:image"}`);
    expect(calls[2]).toContain(`"filename":"/dev/fdset/${base}"`);
    expect(calls[6]).toContain('"bus":"rp0"');
    expect(p.deviceAdded).toBe(true);
  });

  it('device_add refused: blockdev-del in reverse, the fdsets removed last', async () => {
    const { ctx, calls } = recordingCtx('device_add');
    const { devices, fds } = ephemeralDrive();
    const undo = new UndoStack();
    const p = progress();
    await expect(plugOverQmp(ctx, fds, devices, undo, p, () => 1000)).rejects.toThrow(/lock/);
    expect(p).toMatchObject({ step: 'device_add', deviceMaybeAdded: false });
    calls.length = 0;
    expect(await undo.unwind()).toEqual([]);
    const base = HOTPLUG_FIRST_FDSET;
    expect(calls).toEqual([
      'blockdev-del {"node-name":"hd-fmt"}',
      'blockdev-del {"node-name":"hd-file"}',
      'blockdev-del {"node-name":"hd-base"}',
      'blockdev-del {"node-name":"hd-bfile"}',
      `remove-fd {"fdset-id":${base + 1}}`,
      `remove-fd {"fdset-id":${base}}`,
    ]);
  });
});
