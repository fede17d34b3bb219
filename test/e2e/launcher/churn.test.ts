// T28, create/destroy part: 100 launches of a VM with a tcfilter veth endpoint in a test netns,
// each shut down again; after every cycle no QEMU is left (by pid), and our fds and handles,
// children, netns, links, tc and runtime files equal the baseline. A full boot costs ~3 s under
// TCG here, so every 10th cycle (and the first) boots to the shell, sees its NIC and powers off
// by the power button; the others go down by `quit` right after QMP is ready. `npm run soak`
// boots every cycle.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { churnReportLines, runChurn } from '../../helpers/soak-churn.js';

const CYCLES = 100;
const BOOT_EVERY = 10;

describe.runIf(prerequisite('create/destroy churn', qemuMissing() ?? rootNetnsMissing()))(
  'create/destroy churn (T28)',
  () => {
    it(`${CYCLES} launch/shutdown cycles with a veth endpoint leave nothing behind after any cycle`, async () => {
      const report = await runChurn({ cycles: CYCLES, bootEvery: BOOT_EVERY, oracleEvery: 10 });
      console.log(churnReportLines(report).join('\n'));
      expect(report.check).toHaveLength(CYCLES);
      expect(report.boots).toBe(CYCLES / BOOT_EVERY + 1);
      expect(report.powerdown).toHaveLength(report.boots);
    }, 300_000);
  },
);
