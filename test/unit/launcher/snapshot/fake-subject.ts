// The VM a unit test saves or restores, and QEMU's side of a save: a q35 command of 128 MiB, no
// NIC or drive, running; a scripted QMP server answering what a save asks.
import { buildCommand } from '../../../../launcher/command.js';
import { createLogger } from '../../../../launcher/log.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { SnapshotSubject } from '../../../../launcher/snapshot/save.js';
import type { VmConfig } from '../../../../launcher/vm-config.js';
import { closeFd } from '../../../../native/index.js';
import type { FakeCommand, FakeQmp } from '../../../helpers/fake-qmp.js';

/** The command config the snapshot unit tests build on (q35, TCG, 128 MiB). */
export const TEST_VM: VmConfig = {
  machine: { template: 'q35' },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 128 },
  boot: { kernel: '/k' },
  qmp: { fd: 3 },
};

// A running VM of TEST_VM with a console; `more` replaces any part (the source options,
// hot-plugged drives, the command).
export function fakeSubject(qmp: QmpClient, more: Partial<SnapshotSubject> = {}): SnapshotSubject {
  const command = buildCommand({ ...TEST_VM, console: { kind: 'fd', fd: 4 } });
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

// Answers every command as QEMU would; `migrateStatus` is what query-migrate says, `blockstats`
// what query-blockstats does. Returns the commands seen, as they come.
export function serveSave(
  fake: FakeQmp,
  migrateStatus: () => object = () => ({ status: 'completed', ram: { transferred: 1, total: 1 } }),
  blockstats: object[] = [],
): FakeCommand[] {
  const seen: FakeCommand[] = [];
  void (async () => {
    for (;;) {
      const c = await fake.nextCommand().catch(() => undefined);
      if (!c) return;
      seen.push(c);
      for (const fd of c.fds) closeFd(fd);
      if (c.execute === 'query-version') {
        fake.reply(c, { qemu: { major: 7, minor: 2, micro: 22 }, package: ' (fake)' });
      } else if (c.execute === 'query-status') {
        fake.reply(c, { running: true, status: 'running', singlestep: false });
      } else if (c.execute === 'query-migrate') {
        fake.reply(c, migrateStatus());
      } else if (c.execute === 'query-blockstats') {
        fake.reply(c, blockstats);
      } else fake.reply(c, {});
    }
  })();
  return seen;
}
