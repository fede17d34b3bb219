// `vmlaunch run --name` served to other processes: attach, exec, detach from other shells on a
// real guest, then Ctrl-C (SIGINT to the run's process group) leaves nothing behind.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReply } from '../../../launcher/control/protocol.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { ip, ipJson, tcJson, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { startVmlaunch, vmlaunch } from './cli-process.js';

const missing = rootNetnsMissing() ?? qemuMissing();

// Link names in the test netns (the oracle is `ip -json`).
function links(ns: string): string[] {
  return ipJson<Array<{ ifname: string }>>('-n', ns, 'link', 'show')
    .map((l) => l.ifname)
    .sort();
}

// Whether a pid is alive.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(prerequisite('vmlaunch run control e2e', missing))(
  'vmlaunch run --name + attach/detach/exec/list',
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
      'serves attach, exec, detach and list for its VM, and Ctrl-C removes everything',
      { timeout: 240_000 },
      async () => {
        await withTestNetns('cli', async (ns) => {
          ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
          ip('-n', ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'peer1');
          for (const l of ['eth0', 'peer0', 'eth1', 'peer1']) ip('-n', ns, 'link', 'set', l, 'up');
          ip('-n', ns, 'addr', 'add', '10.231.7.1/24', 'dev', 'peer1');
          const before = links(ns);
          const name = `e2e-${randomBytes(3).toString('hex')}`;
          const run = startVmlaunch(
            [
              'run',
              '--name',
              name,
              '--net',
              `veth:eth0@${ns}`,
              '--append',
              'vmlaunch.console=harness',
            ],
            env,
          );
          let qemuPid = 0;
          try {
            await run.waitFor(/VMLAUNCH-GUEST-READY/, 120_000);
            expect(readdirSync(join(root, name)).sort()).toEqual(['control.sock', 'owner.json']);

            // The same name twice is refused, and the live VM's socket stays.
            const twice = await vmlaunch(['run', '--name', name], env);
            expect(twice.code).toBe(1);
            expect(twice.stderr).toContain(`a VM named "${name}" is already running`);
            expect(existsSync(join(root, name, 'control.sock'))).toBe(true);

            const attached = await vmlaunch(
              ['attach', name, `veth:eth1@${ns}`, '--id', 'hp1'],
              env,
            );
            expect(attached.stderr).toBe('');
            expect(attached.code).toBe(0);
            expect(attached.stdout).toMatch(
              new RegExp(
                `^Attached hp1 to VM ${name}: mac [0-9a-f:]{17}, on root port \\S+, in \\d+ ms`,
              ),
            );

            const netNow = await vmlaunch(['exec', name, '--', 'ls', '/sys/class/net'], env);
            expect(netNow).toMatchObject({ code: 0 });
            expect(netNow.stdout.split(/\s+/)).toContain('eth1');
            const ping = await vmlaunch(
              [
                'exec',
                name,
                '--',
                'ip link set eth1 up && ip addr add 10.231.7.2/24 dev eth1 && ping -c 2 -W 2 10.231.7.1',
              ],
              env,
            );
            expect(ping.code, ping.stdout).toBe(0);
            expect(ping.stdout).toContain('2 packets received');

            const listed = await vmlaunch(['list', '--json'], env);
            const rows = JSON.parse(listed.stdout) as Array<{ name: string; status?: StatusReply }>;
            const row = rows.find((r) => r.name === name);
            qemuPid = row?.status?.qemuPid ?? 0;
            expect(alive(qemuPid)).toBe(true);
            expect(row?.status?.nics.map((n) => [n.nicId, n.origin])).toEqual([
              ['net0', 'boot'],
              ['hp1', 'hotplug'],
            ]);

            // Errors: sentences on stderr, meaningful exit codes.
            const bad = await vmlaunch(['attach', name, 'veth:eth9'], env);
            expect(bad.code).toBe(1);
            expect(bad.stderr).toMatch(/Invalid input: .*needs its netns/);
            expect((await vmlaunch(['detach', name, 'nope'], env)).code).toBe(1);
            expect((await vmlaunch(['attach', `${name}-x`, `veth:eth1@${ns}`], env)).code).toBe(4);
            expect((await vmlaunch(['exec', name, '--', 'exit 7'], env)).code).toBe(7);
            // Several words are an argv: spaces, empty words and quotes stay as they were.
            const words = await vmlaunch(
              ['exec', name, '--', 'printf', '<%s>', 'a b', '', "it's", 'x"y', '$HOME'],
              env,
            );
            expect(words).toMatchObject({ code: 0, stdout: `<a b><><it's><x"y><$HOME>` });
            expect((await vmlaunch(['detach', name], env)).code).toBe(2);

            const detached = await vmlaunch(['detach', name, 'hp1', '--timeout', '15000'], env);
            expect(detached.code, detached.stderr).toBe(0);
            expect(detached.stdout).toMatch(/^Detached hp1 from VM .* in \d+ ms/);
            const netAfter = await vmlaunch(['exec', name, '--', 'ls', '/sys/class/net'], env);
            expect(netAfter.stdout.split(/\s+/)).not.toContain('eth1');
            expect(tcJson<unknown[]>('-n', ns, 'filter', 'show', 'dev', 'eth1', 'ingress')).toEqual(
              [],
            );
          } finally {
            process.kill(-run.child.pid!, 'SIGINT');
            const end = await Promise.race([
              run.exited,
              new Promise((r) => setTimeout(() => r('timeout'), 60_000)),
            ]);
            if (end === 'timeout') process.kill(-run.child.pid!, 'SIGKILL');
            expect(end).toBe(0);
          }
          expect(run.stderr()).toMatch(/attached hp1[\s\S]*detached hp1[\s\S]*VM ended/);
          expect(run.stderr()).not.toContain('left behind');
          expect(existsSync(join(root, name))).toBe(false);
          expect(qemuPid > 0 && alive(qemuPid)).toBe(false);
          expect(links(ns)).toEqual(before);
          expect(tcJson<unknown[]>('-n', ns, 'filter', 'show', 'dev', 'eth0', 'ingress')).toEqual(
            [],
          );
        });
      },
    );
  },
);
