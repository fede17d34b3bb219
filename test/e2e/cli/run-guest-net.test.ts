// `vmlaunch run --scan NETNS -- CMD` and `--net ...,ip=,gw=` on the real default guest: the
// guest takes the netns's address, default route and resolver (or the ones the flags give)
// from its seed, with no kernel argument, and pings the gateway in the peer netns.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { vmlaunch } from './cli-process.js';

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

// What the guest shows: its IPv4 addresses, routes, resolver, and whether the gateway answers.
const PROBE = [
  'ip -4 -o addr show scope global | awk "{print \\$4}"',
  'ip -4 route show',
  'grep -E "^(nameserver|search)" /etc/resolv.conf',
  'ping -c 1 -W 10 10.77.0.1 >/dev/null && echo PING-OK',
].join('; ');

describe.runIf(prerequisite('vmlaunch run guest network e2e', qemuMissing() ?? rootNetnsMissing()))(
  'vmlaunch run: the guest network from --scan and from ip=/gw=',
  () => {
    let root: string;
    let env: NodeJS.ProcessEnv;
    const made: string[] = [];
    const ns = `vml-rgn-${randomBytes(3).toString('hex')}`;
    const peer = `${ns}-p`;

    beforeAll(async () => {
      await defaultGuest();
      root = mkdtempSync(join(tmpdir(), 'vml-e2e-rgn-'));
      chmodSync(root, 0o755);
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: root };
      for (const name of [ns, peer]) {
        ip('netns', 'add', name);
        made.push(name);
      }
      ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'gw0', 'netns', peer);
      ip('-n', peer, 'addr', 'add', '10.77.0.1/24', 'dev', 'gw0');
      ip('-n', peer, 'link', 'set', 'gw0', 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    });
    afterAll(() => {
      for (const name of made.splice(0).reverse()) ip('netns', 'del', name);
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
      if (root) rmSync(root, { recursive: true, force: true });
    });

    async function run(args: string[]): Promise<string> {
      const r = await vmlaunch(['run', ...args, '--', 'sh', '-c', PROBE], env, 240_000);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(join(root, '.vm')), 'VM run dirs left').toEqual([]);
      return r.stdout;
    }

    it(
      '--scan takes what the netns holds: address, default route, resolv.conf',
      { timeout: 260_000 },
      async () => {
        ip('-n', ns, 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0');
        ip('-n', ns, 'route', 'add', 'default', 'via', '10.77.0.1');
        // Where `ip netns exec` (and scanNetns) find a netns's own resolver.
        mkdirSync(`/etc/netns/${ns}`, { recursive: true });
        writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 10.77.0.53\nsearch cni.test\n');
        try {
          const out = await run(['--scan', ns]);
          expect(out).toContain('10.77.0.2/24');
          expect(out).toMatch(/default via 10\.77\.0\.1/);
          expect(out).toContain('nameserver 10.77.0.53');
          expect(out).toContain('search cni.test');
          expect(out).toContain('PING-OK');
        } finally {
          ip('-n', ns, 'addr', 'flush', 'dev', 'eth0');
        }
      },
    );

    it(
      '--net ...,ip=,gw= with --dns gives the guest an identity the netns does not hold',
      { timeout: 260_000 },
      async () => {
        const out = await run([
          '--net',
          `veth:eth0@${ns},ip=10.77.0.9/24,gw=10.77.0.1`,
          '--dns',
          '10.77.0.54',
          '--dns-search',
          'flags.test',
        ]);
        expect(out).toContain('10.77.0.9/24');
        expect(out).toMatch(/default via 10\.77\.0\.1/);
        expect(out).toContain('nameserver 10.77.0.54');
        expect(out).toContain('search flags.test');
        expect(out).toContain('PING-OK');
      },
    );

    it(
      '--scan of a netns without an endpoint is a usage error that names it',
      { timeout: 60_000 },
      async () => {
        const empty = `${ns}-e`;
        ip('netns', 'add', empty);
        made.push(empty);
        const r = await vmlaunch(['run', '--scan', empty, '--', 'true'], env, 60_000);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`--scan ${empty}: no endpoint found (lo: `);
      },
    );
  },
);
