// T1 and T2 with real endpoints: launch attaches a tcfilter veth and a tap it creates in a test
// netns, then QEMU is missing (T1) or exits before its QMP greeting (T2, a fake QEMU writing to
// stderr). The LaunchError names the step and carries QEMU's exit and stderr, and everything
// launch made is rolled back: links, qdiscs and filters of the netns, our fds, children.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { launch, type LaunchOptions } from '../../../launcher/launch.js';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { ip, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

const ws = useFakeQemuWorkspace('launch-rb');
// A shell script cannot run QEMU's seccomp sandbox (on by default), so these launches turn it off.

/** A veth eth0 (peer in the same netns) and the endpoints launch attaches in `netns`. */
function endpointsIn(netns: string): Pick<LaunchOptions, 'endpoints'> {
  ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  ip('-n', netns, 'addr', 'add', '10.66.0.2/24', 'dev', 'eth0');
  ip('-n', netns, 'link', 'set', 'eth0', 'up');
  ip('-n', netns, 'link', 'set', 'peer0', 'up');
  return {
    endpoints: [
      { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns },
      { endpoint: { kind: 'tap', name: 'vmlrbtap0', create: true }, netns },
    ],
  };
}

/** Our fds, children, the netns's links and tc objects. */
const snap = (netns: string): ReturnType<typeof takeSnapshot> =>
  takeSnapshot({ netns: [netns], netnsFilter: (n) => n === netns });

describe.runIf(prerequisite('launch rollback', rootNetnsMissing()))(
  'launch failing after its endpoints are attached',
  () => {
    it('T1: a missing QEMU binary rolls back the attached veth and created tap', async () => {
      await withTestNetns('rb1', async (netns) => {
        const options = endpointsIn(netns);
        const before = snap(netns);
        const error = await launch({
          kernel: ws.kernel,
          accel: 'tcg',
          sandbox: false,
          qemu: join(ws.dir, 'absent'),
          ...options,
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LaunchError);
        expect(error).toMatchObject({ code: 'QEMU_NOT_FOUND', rollbackErrors: [] });
        expect(diffSnapshots(before, snap(netns))).toEqual([]);
      });
    });

    it('T2: QEMU exiting before the greeting is a LaunchError with its stderr, and the endpoints are rolled back', async () => {
      await withTestNetns('rb2', async (netns) => {
        const options = endpointsIn(netns);
        const qemu = ws.script(
          'exits',
          'echo "qemu-system-x86_64: -netdev tap: fake failure" >&2; exit 1',
        );
        const before = snap(netns);
        const error = (await launch({
          kernel: ws.kernel,
          accel: 'tcg',
          sandbox: false,
          confine: false, // a fake QEMU in our private temp dir
          qemu,
          ...options,
        }).catch((e: unknown) => e)) as LaunchError;
        expect(error).toBeInstanceOf(LaunchError);
        expect(error).toMatchObject({
          code: 'QEMU_EXITED',
          step: 'qmp-connect',
          exit: { code: 1, signal: null },
          rollbackErrors: [],
        });
        expect(error.stderrTail).toContain('fake failure');
        expect(error.argv.join(' ')).toContain('-netdev tap,id=netdev-net0');
        expect(diffSnapshots(before, snap(netns))).toEqual([]);
      });
    });
  },
);
