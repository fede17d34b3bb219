// The VM a unit test saves: a q35 command of 128 MiB, no NIC or drive, running; `more`
// replaces any part (the source options, hot-plugged drives, the command).
import { buildCommand } from '../../../../launcher/command.js';
import { createLogger } from '../../../../launcher/log.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { SnapshotSubject } from '../../../../launcher/snapshot/save.js';

export function fakeSubject(qmp: QmpClient, more: Partial<SnapshotSubject> = {}): SnapshotSubject {
  const command = buildCommand({
    machine: { template: 'q35' },
    accel: 'tcg',
    cpus: 1,
    memory: { sizeMiB: 128 },
    boot: { kernel: '/k' },
    qmp: { fd: 3 },
    console: { kind: 'fd', fd: 4 },
  });
  return {
    qmp,
    pid: 0,
    command,
    accel: { accel: 'tcg', reason: 'test', cached: false },
    source: { kernel: '/k', memoryMiB: 128 },
    endpoints: [],
    hotplugged: [],
    hotpluggedDrives: [],
    running: true,
    shutdown: () => Promise.resolve(),
    logger: createLogger('silent'),
    ...more,
  };
}
