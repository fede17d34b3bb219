// T28 (scaled to CI's budget): 100 attach/detach cycles of a tcfilter veth on one VM. Every
// cycle waits for the guest to show the NIC (attach's default) and for DEVICE_DELETED; every
// 10th cycle QEMU's open fds, our fds, the netns links and tc objects must equal the baseline,
// and the guest pings the peer through the NIC on the first and the last cycle.
import { describe, expect, it } from 'vitest';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { bootGuest, createTestNet, guestPing, qemuFdCount, snapshot } from './fixture.js';

const CYCLES = 100;

describe.runIf(prerequisite('hot-plug soak', qemuMissing() ?? rootNetnsMissing()))(
  'hot-plug soak',
  () => {
    it(`${CYCLES} attach/detach cycles of a tcfilter veth leave no fd, link or tc object behind`, async () => {
      const vm = await bootGuest();
      const net = createTestNet();
      try {
        const baseline = snapshot(net);
        const qemuFds = qemuFdCount(vm);
        const times: number[] = [];
        for (let cycle = 1; cycle <= CYCLES; cycle++) {
          const t = performance.now();
          const nic = await vm.attach(
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: net.netns,
            },
            { id: 'soak' },
          );
          if (cycle === 1 || cycle === CYCLES) {
            const ping = await guestPing(vm, nic.guestIfname!, net.guestCidr, net.peerAddress);
            expect(ping.status, `cycle ${cycle}: ${ping.output}`).toBe(0);
          }
          const result = await vm.detach(nic.id);
          expect(result.status, `cycle ${cycle}`).toBe('removed');
          times.push(performance.now() - t);
          if (cycle % 10 === 0) {
            expect(qemuFdCount(vm), `QEMU fds after cycle ${cycle}`).toBe(qemuFds);
            expect(diffSnapshots(baseline, snapshot(net)), `after cycle ${cycle}`).toEqual([]);
          }
        }
        const sorted = [...times].sort((a, b) => a - b);
        const p = (q: number) =>
          sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
        console.log(
          `soak: ${CYCLES} cycles, QEMU fds ${qemuFds} -> ${qemuFdCount(vm)}, our fds ` +
            `${baseline.fds.size} -> ${snapshot(net).fds.size}; per cycle p50 ${p(0.5)} ms, ` +
            `p95 ${p(0.95)} ms, max ${p(1)} ms (pings on cycles 1 and ${CYCLES})`,
        );
        expect(vm.hotplugged).toEqual([]);
      } finally {
        await vm.shutdown({ timeout: 3000 });
        net.remove();
      }
    }, 180_000);
  },
);
