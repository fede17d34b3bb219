// `vmlaunch nic` against a `vmlaunch run --name`: --link down takes the guest's carrier and
// its ping away, --link up --stats brings them back and shows host-side counters (JSON), --rate
// moves the --net spec's tx limit to rx (tbf qdiscs as tc shows them), an unknown NIC exits 1;
// Ctrl-C then ends the run cleanly, removing the limit.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NicReply } from '../../../launcher/control/protocol.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { tcJson } from '../../helpers/netns.js';
import { createTestNet } from '../hotplug/fixture.js';
import { startVmlaunch, vmlaunch } from './cli-process.js';

// The root tbf qdiscs of `netns` as tc shows them: [dev, rate in bytes/s].
function tbfs(netns: string): [string, number][] {
  return tcJson<{ kind: string; dev: string; root?: boolean; options?: { rate?: number } }[]>(
    '-n',
    netns,
    'qdisc',
    'show',
  )
    .filter((q) => q.kind === 'tbf' && q.root === true)
    .map((q) => [q.dev, q.options?.rate ?? 0]);
}

describe.runIf(prerequisite('vmlaunch nic e2e', rootNetnsMissing() ?? qemuMissing()))(
  'vmlaunch nic',
  () => {
    let root: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      await defaultGuest();
      root = mkdtempSync(join(tmpdir(), 'vml-e2e-rt-'));
      chmodSync(root, 0o755);
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: root };
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it(
      'sets the link down and up and shows counters of a boot NIC',
      { timeout: 240_000 },
      async () => {
        const net = createTestNet('vml-nicc');
        const name = `e2e-${randomBytes(3).toString('hex')}`;
        try {
          const run = startVmlaunch(
            [
              'run',
              '--name',
              name,
              '--net',
              `veth:eth0@${net.netns},tx-rate=10mbit`,
              '--append',
              'vmlaunch.console=harness',
            ],
            env,
          );
          try {
            await run.waitFor(/VMLAUNCH-GUEST-READY/, 120_000);
            const sh = (command: string) => vmlaunch(['exec', name, '--', command], env);
            const ping = `ping -c 1 -W 2 ${net.peerAddress}`;
            expect(
              (await sh(`ip link set eth0 up && ip addr add ${net.guestCidr} dev eth0`)).code,
            ).toBe(0);
            expect((await sh(ping)).code).toBe(0);

            const down = await vmlaunch(['nic', name, 'net0', '--link', 'down'], env);
            expect(down, down.stderr).toMatchObject({ code: 0, stdout: 'net0: link down\n' });
            expect((await sh('cat /sys/class/net/eth0/carrier')).stdout.trim()).toBe('0');
            expect((await sh(ping)).code).not.toBe(0);

            const up = await vmlaunch(
              ['nic', name, 'net0', '--link', 'up', '--stats', '--json'],
              env,
            );
            expect(up.code, up.stderr).toBe(0);
            const reply = JSON.parse(up.stdout) as NicReply;
            expect(reply).toMatchObject({ nicId: 'net0', link: 'up' });
            expect(reply.stats?.host?.rxBytes).toBeGreaterThan(0);
            expect(reply.stats?.host?.txBytes).toBeGreaterThan(0);
            expect(reply.stats?.rxFilter['name']).toBe('nic-net0');
            expect((await sh('cat /sys/class/net/eth0/carrier')).stdout.trim()).toBe('1');
            expect((await sh(ping)).code).toBe(0);

            // Rate: tx from the --net spec sits on eth0; --rate moves the limit to rx (the tap).
            expect(tbfs(net.netns)).toEqual([['eth0', 1_250_000]]);
            const rate = await vmlaunch(['nic', name, 'net0', '--rate', 'rx=8mbit,tx=off'], env);
            expect(rate, rate.stderr).toMatchObject({
              code: 0,
              stdout: 'net0: rate limits now rx 8Mbit/s (1000000 B/s), burst 100000 B, tx none\n',
            });
            const [tap] = tbfs(net.netns);
            expect(tap?.[0]).not.toBe('eth0');
            expect(tap?.[1]).toBe(1_000_000);
            expect((await vmlaunch(['nic', name, 'net0', '--rate', 'rx=fast'], env)).code).toBe(2);

            const text = await vmlaunch(['nic', name, 'net0', '--stats'], env);
            expect(text.stdout).toMatch(/in the guest's direction:\n {2}rx: \d+ bytes/);
            const unknown = await vmlaunch(['nic', name, 'nope', '--stats'], env);
            expect(unknown.code).toBe(1);
            expect(unknown.stderr).toContain('no NIC with id nope');
            expect((await vmlaunch(['nic', name, 'net0'], env)).code).toBe(2);
          } finally {
            process.kill(-run.child.pid!, 'SIGINT');
            const end = await Promise.race([
              run.exited,
              new Promise((r) => setTimeout(() => r('timeout'), 60_000)),
            ]);
            if (end === 'timeout') process.kill(-run.child.pid!, 'SIGKILL');
            expect(end).toBe(0);
          }
          expect(run.stderr()).toMatch(/net0: link down[\s\S]*net0: link up/);
          expect(run.stderr()).toContain('net0: rate {"rx":{"rate":1000000,"burst":100000}}');
          expect(tbfs(net.netns)).toEqual([]);
        } finally {
          net.remove();
        }
      },
    );
  },
);
