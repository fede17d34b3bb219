// T28, parallel part: 5 rounds of 20 VMs launched at once (128 MiB guests, each with a tcfilter
// veth endpoint in its own test netns); all reach QMP ready, all shut down, and after each
// round no QEMU is left and our fds and handles, children, netns, links, tc (netlink and ip/tc)
// and runtime files equal the baseline. Memory is reported.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { parallelReportLines, runParallel } from '../../helpers/soak-parallel.js';

const VMS = 20;
const ROUNDS = 5;

describe.runIf(prerequisite('parallel VMs', qemuMissing() ?? rootNetnsMissing()))(
  'parallel VMs (T28)',
  () => {
    it(`${ROUNDS} rounds of ${VMS} VMs at once all reach QMP ready and leave nothing behind`, async () => {
      const report = await runParallel({ vms: VMS, rounds: ROUNDS });
      console.log(parallelReportLines(report).join('\n'));
      expect(report.launch).toHaveLength(VMS * ROUNDS);
      expect(report.check).toHaveLength(ROUNDS);
    }, 300_000);
  },
);
