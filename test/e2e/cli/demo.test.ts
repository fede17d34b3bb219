// `vmlaunch demo` end to end: both pings (the boot NIC and the hot-plugged one) work, each
// hot-plug part is timed, exit 0, and its vml-demo-* netns are gone afterwards.
import { describe, expect, it } from 'vitest';
import { ipJson } from '../../helpers/netns.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { vmlaunch } from './cli-process.js';

const missing = rootNetnsMissing() ?? qemuMissing();

describe.runIf(prerequisite('vmlaunch demo e2e', missing))('vmlaunch demo', () => {
  it(
    'pings through the boot NIC and a hot-plugged NIC, exits 0, leaves no netns',
    { timeout: 240_000 },
    async () => {
      await defaultGuest();
      const r = await vmlaunch(['demo'], process.env, 200_000);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      for (const step of [
        /✓ hot-plug a second NIC \(eth1 veth, tcfilter\) \(\d+ ms\)/,
        /✓ guest sees the hot-plugged NIC \(\d+ ms\)/,
        /✓ guest pings \S+ through eth\d \(\d+ ms\) — 3 packets received/,
        /✓ hot-unplug hp0 \(\d+ ms\) — removed/,
        /hot-plug: attach \d+ ms, guest sees NIC \d+ ms, ping \d+ ms, detach \d+ ms/,
        /demo: OK/,
      ])
        expect(r.stdout).toMatch(step);
      const made = /netns \+ veth \+ peer created .* — (vml-demo-[0-9a-f]+),/.exec(r.stdout)?.[1];
      expect(made).toBeDefined();
      const names = ipJson<Array<{ name: string }>>('netns', 'list').map((n) => n.name);
      expect(names.filter((n) => n.startsWith(made!))).toEqual([]);
    },
  );
});
