// `vmlaunch snapshot` and `vmlaunch restore` end to end: a VM served by `vmlaunch run` is saved
// over its control socket (--then shutdown ends the run cleanly; --shared-memory, so its RAM goes
// to an image beside the state file), restored with its NIC named
// onto a veth in a new netns (--net net0=SPEC), and the restored guest pings its new peer
// through `vmlaunch exec`; Ctrl-C then ends the restore's run cleanly.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVethPeer, createTestNet, subnet, type TestNet } from '../../helpers/coldplug-net.js';
import { defaultGuest } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from '../coldplug/prereq.js';
import { startVmlaunch, vmlaunch, type RunningCli } from './cli-process.js';

const SUB = subnet(1);

// Ctrl-C to a served run and its exit code (SIGKILL after a minute).
async function interrupt(run: RunningCli): Promise<number | string> {
  if (run.child.exitCode === null) process.kill(-run.child.pid!, 'SIGINT');
  const end = await Promise.race([
    run.exited,
    new Promise((r) => setTimeout(() => r('timeout'), 60_000)),
  ]);
  if (end === 'timeout') process.kill(-run.child.pid!, 'SIGKILL');
  return end as number | string;
}

describe.runIf(prerequisite('vmlaunch snapshot e2e', coldplugMissing()))(
  'vmlaunch snapshot and restore',
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

    it('saves a served VM and restores it onto a new netns', { timeout: 600_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vml-e2e-snap-'));
      const nets: TestNet[] = [];
      const net = (tag: string): TestNet => {
        const made = createTestNet(tag);
        nets.push(made);
        addVethPeer(made, 'eth0', SUB, 1500);
        return made;
      };
      const first = `e2e-${randomBytes(3).toString('hex')}`;
      const second = `${first}-r`;
      const file = join(dir, 'vm.state');
      try {
        const a = net('clisa');
        const run = startVmlaunch(
          [
            'run',
            '--name',
            first,
            '--memory',
            '256',
            '--shared-memory',
            '--net',
            `veth:eth0@${a.ns}`,
            '--append',
            'vmlaunch.console=harness',
          ],
          env,
        );
        try {
          await run.waitFor(/VMLAUNCH-GUEST-READY/, 180_000);
          const up = await vmlaunch(
            ['exec', first, '--', `ip link set eth0 up && ip addr add ${SUB.guestCidr} dev eth0`],
            env,
          );
          expect(up.code, up.stderr).toBe(0);
          const saved = await vmlaunch(['snapshot', first, file, '--then', 'shutdown'], env);
          expect(saved.code, saved.stderr).toBe(0);
          expect(saved.stdout).toContain(`Saved VM ${first} to ${file}`);
          expect(saved.stdout).toContain(`RAM image ${file}.ram`);
          expect(await run.exited).toBe(0);
        } finally {
          await interrupt(run);
        }
        expect(existsSync(`${file}.json`)).toBe(true);
        expect(existsSync(`${file}.ram`)).toBe(true);

        const b = net('clisb');
        const restored = startVmlaunch(
          ['restore', file, '--name', second, '--net', `net0=veth:eth0@${b.ns}`],
          env,
        );
        try {
          await restored.waitFor(/VM "[^"]+" running/, 180_000);
          const ping = await vmlaunch(['exec', second, '--', `ping -c 1 -W 5 ${SUB.peerIp}`], env);
          expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        } finally {
          expect(await interrupt(restored)).toBe(0);
        }
        const bad = await vmlaunch(['restore', file, '--net', 'nope=veth:eth0@x'], env);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('nics.nope');
      } finally {
        for (const n of nets) n.remove();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
