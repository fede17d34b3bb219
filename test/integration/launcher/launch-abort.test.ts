// T27 for launch(): the caller's AbortSignal fires at each await point of a launch in turn (before
// it starts, the sandbox probe, the accelerator choice, each endpoint's attach as it starts and
// once done, the spawn, the QMP handshake), with the real QEMU (paused) and two real endpoints in
// a test netns: a created tap and a veth with the tcfilter model (tap, qdiscs, redirects, crash
// journal entry). Every time: a LaunchError coded ABORTED naming the step, the QEMU it spawned is
// gone (by pid), and our fds, children, netns, links, tc and journal files equal the baseline;
// then a plain launch of the same options still works.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseAccelerator } from '../../../launcher/accel.js';
import { LaunchError } from '../../../launcher/errors.js';
import {
  launch,
  launchWithDeps,
  type LaunchDeps,
  type LaunchOptions,
} from '../../../launcher/launch.js';
import { spawnQemu } from '../../../launcher/process.js';
import { connectQmp } from '../../../launcher/qmp/index.js';
import { probeSandbox } from '../../../launcher/sandbox-probe.js';
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import { defaultJournalDir } from '../../../network/journal/store.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { ip, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

/** Each await point, in the order a launch reaches it, and the step its abort is reported at. */
const POINTS: Array<[point: string, step: string]> = [
  ['sandbox probe', 'sandbox'],
  ['accelerator choice', 'accelerator'],
  ['attach net0 (as it starts)', 'attach-endpoints'],
  ['attach net0 (done)', 'attach-endpoints'],
  ['attach net1 (as it starts)', 'attach-endpoints'],
  ['attach net1 (done)', 'attach-endpoints'],
  ['spawn', 'spawn'],
  ['qmp handshake', 'qmp-connect'],
];

/** The real side effects, each reaching its point first (or once done). */
function instrumented(reach: (point: string) => void, pids: number[]): Partial<LaunchDeps> {
  return {
    probeSandbox: (o) => {
      reach('sandbox probe');
      return probeSandbox(o);
    },
    chooseAccelerator: (o) => {
      reach('accelerator choice');
      return chooseAccelerator(o);
    },
    attach: async (endpoint, ctx) => {
      reach(`attach ${ctx.nicId} (as it starts)`);
      const attached = await attachEndpoint(endpoint, ctx);
      reach(`attach ${ctx.nicId} (done)`);
      return attached;
    },
    spawnQemu: async (o) => {
      const qemu = await spawnQemu(o);
      pids.push(qemu.pid);
      reach('spawn');
      return qemu;
    },
    connectQmp: (transport, o) => {
      const connecting = connectQmp(transport, o);
      reach('qmp handshake');
      return connecting;
    },
  };
}

// Our entries in the crash journal (a borrowed veth is journalled while attached); other
// processes' tests write there too.
function journalEntries(): string[] {
  const dir = defaultJournalDir();
  const ours = (name: string): boolean => name.startsWith(`${process.pid}-`);
  return existsSync(dir) ? readdirSync(dir).filter(ours).sort() : [];
}

describe.runIf(
  prerequisite('launch abort (real QEMU, netns)', qemuMissing() ?? rootNetnsMissing()),
)('T27: aborting a launch at each await point', () => {
  it('undoes everything made before the abort, names the step, and a later launch works', async () => {
    const guest = await defaultGuest();
    await withTestNetns('lab', async (netns) => {
      ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
      ip('-n', netns, 'link', 'set', 'eth0', 'up');
      const base: LaunchOptions = {
        kernel: guest.kernel,
        initrd: guest.initrd,
        paused: true,
        endpoints: [
          { endpoint: { kind: 'tap', name: 'vmlab0', create: true }, netns },
          { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns },
        ],
      };
      const snap = () =>
        takeSnapshot({ netns: [netns], netnsFilter: (n) => n.startsWith('vml-lab-') });
      const before = snap();
      const journal = journalEntries();

      // A clean launch reaches the points in this order.
      const reached: string[] = [];
      const vm = await launchWithDeps(
        base,
        instrumented((p) => reached.push(p), []),
      );
      expect(journalEntries()).toHaveLength(journal.length + 1); // the borrowed veth
      await vm.kill();
      expect(reached).toEqual(POINTS.map(([point]) => point));
      expect(diffSnapshots(before, snap())).toEqual([]);

      const cases: Array<[string, string]> = [['already aborted', 'validate'], ...POINTS];
      for (const [point, step] of cases) {
        const ctl = new AbortController();
        if (point === 'already aborted') ctl.abort();
        const pids: number[] = [];
        const reach = (p: string): void => {
          if (p === point) ctl.abort(new Error(`test abort at ${p}`));
        };
        const error = await launchWithDeps(
          { ...base, signal: ctl.signal },
          instrumented(reach, pids),
        ).then(
          async (v) => {
            await v.kill();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect(error, point).toBeInstanceOf(LaunchError);
        const e = error as LaunchError;
        expect({ point, code: e.code, step: e.step }).toEqual({ point, code: 'ABORTED', step });
        expect(e.rollbackErrors, point).toEqual([]);
        for (const pid of pids)
          expect(existsSync(`/proc/${pid}`), `${point}: QEMU ${pid}`).toBe(false);
        expect(diffSnapshots(before, snap()), point).toEqual([]);
        expect(journalEntries(), point).toEqual(journal);
      }

      // Later launches still work, and an abort after launch resolved changes nothing.
      const ctl = new AbortController();
      const again = await launch({ ...base, signal: ctl.signal });
      ctl.abort();
      expect(again.state).toBe('running');
      expect((await again.qmp.queryStatus()).status).toBe('prelaunch');
      const exit = await again.shutdown();
      expect(exit.unexpected).toBe(false);
      expect(diffSnapshots(before, snap())).toEqual([]);
      expect(journalEntries()).toEqual(journal);
    });
  }, 180_000);
});
