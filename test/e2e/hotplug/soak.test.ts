// T28, hot-plug part, CI-sized: 300 attach/detach cycles of a tcfilter veth on one q35 VM (70 s
// here), each attached with rate limits both ways (tbf qdiscs), changed live every other cycle. After every cycle the guest no longer shows the NIC, and our fds and handles,
// children, netns, the links and tc objects of both test netns (read over netlink), QEMU's fds,
// peripherals and fd sets all equal the baseline; every 100 cycles the ip/tc oracle agrees; the
// guest pings the peer through the NIC on the first and the last cycle. The full 1000 cycles
// (about 3.5 min) run in `npm run soak`: with them the whole suite measured 11.6 min, over the
// 10 min CI budget.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import { qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { hotplugReportLines, runHotplugSoak } from '../../helpers/soak-hotplug.js';

const CYCLES = 300;

describe.runIf(prerequisite('hot-plug soak', qemuMissing() ?? rootNetnsMissing()))(
  'hot-plug soak (T28)',
  () => {
    it(`${CYCLES} attach/detach cycles of a tcfilter veth leave nothing behind after any cycle`, async () => {
      const report = await runHotplugSoak({ cycles: CYCLES, oracleEvery: 100 });
      console.log(hotplugReportLines(report).join('\n'));
      expect(report.check).toHaveLength(CYCLES);
      expect(report.qemuFds[1]).toBe(report.qemuFds[0]);
      expect(report.ourFds[1]).toBe(report.ourFds[0]);
    }, 300_000);
  },
);
