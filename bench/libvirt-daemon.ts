// A private libvirtd for bench/libvirt.bench.ts, started by hand (no systemd) and stopped by pid.
// It runs inside a vml- netns (so the taps it opens by name live there, not in the host netns)
// and in the mount namespace `ip netns exec` makes, where a temp dir of ours is bind-mounted
// over /etc/libvirt (libvirtd.conf, qemu.conf: root, no security driver, no cgroups, QEMU's
// stdio to a file instead of virtlogd), /run/libvirt (the sockets), /var/lib, /var/cache and
// /var/log/libvirt, and over /etc/passwd and /etc/group with the `libvirt-qemu` user added (the
// QEMU driver resolves its compiled-in default user before reading qemu.conf; without
// libvirt-daemon-system no such user exists). Nothing of it outlives stop(): domains destroyed,
// libvirtd and any QEMU it left killed, the mount points it needed and the temp dir removed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VirshShell } from './virsh-shell.js';

/** Host directories libvirtd writes to, each replaced by one of ours. */
const PRIVATE_DIRS: Array<[string, string]> = [
  ['etc', '/etc/libvirt'],
  ['run', '/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['cache', '/var/cache/libvirt'],
  ['log', '/var/log/libvirt'],
];

const LIBVIRTD_CONF = `unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
`;

const QEMU_CONF = `user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
`;

/** A running private libvirtd. */
export interface Libvirtd {
  /** Our temp dir (its run/ holds the sockets, log/ the logs). */
  dir: string;
  /** The client URI (qemu:///system on our socket). */
  uri: string;
  pid: number;
  /** One long-lived virsh on `uri`, as a program holding a libvirt connection would be. */
  virsh: VirshShell;
  /** Turns libvirtd's debug log on into `file` (under dir/log), or back off. */
  debugLog(file: string | undefined): void;
  /** Destroys every domain, stops libvirtd, kills what is left, removes every trace. */
  stop(): Promise<string[]>;
}

// Pids of processes whose command line mentions `needle` (QEMU started by libvirtd does: its
// -chardev and -kernel paths are under our dir or name our domains).
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

// Starts libvirtd in `netns`; resolves once virsh answers on its socket (the QEMU driver has
// then probed QEMU's capabilities, which is libvirtd's start-up cost, not a domain's).
export async function startLibvirtd(netns: string, domainPrefix: string): Promise<Libvirtd> {
  const dir = mkdtempSync(join(tmpdir(), 'vml-bench-libvirt-'));
  for (const [sub] of PRIVATE_DIRS) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'etc', 'libvirtd.conf'), LIBVIRTD_CONF);
  writeFileSync(join(dir, 'etc', 'qemu.conf'), QEMU_CONF);
  copyFileSync('/etc/passwd', join(dir, 'etc', 'passwd'));
  copyFileSync('/etc/group', join(dir, 'etc', 'group'));
  appendFileSync(
    join(dir, 'etc', 'passwd'),
    'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin\n',
  );
  appendFileSync(join(dir, 'etc', 'group'), 'libvirt-qemu:x:64055:\n');
  // Mount points that do not exist on the host yet are made, and removed again in stop().
  const madeMountPoints = PRIVATE_DIRS.map(([, target]) => target).filter((t) => !existsSync(t));
  const mounts = [
    ...PRIVATE_DIRS.map(
      ([sub, target]) => `mkdir -p ${target} && mount --bind ${join(dir, sub)} ${target}`,
    ),
    `mount --bind ${join(dir, 'etc', 'passwd')} /etc/passwd`,
    `mount --bind ${join(dir, 'etc', 'group')} /etc/group`,
  ];
  const child: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns,
      'sh',
      '-c',
      `set -e; ${mounts.join('; ')}; exec libvirtd --config /etc/libvirt/libvirtd.conf`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const pid = child.pid!;
  const uri = `qemu:///system?socket=${join(dir, 'run', 'libvirt-sock')}`;
  const adminUri = `libvirtd:///system?socket=${join(dir, 'run', 'libvirt-admin-sock')}`;
  let virsh: VirshShell | undefined;

  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    try {
      if (virsh && alive(pid)) {
        const list = await virsh.run('list --name').catch(() => ({ output: '' }));
        for (const name of list.output.split('\n').map((s) => s.trim()))
          if (name.startsWith(domainPrefix))
            await virsh.run(`destroy ${name}`).catch(() => undefined);
      }
    } finally {
      virsh?.close();
      if (alive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
      if (alive(pid)) {
        problems.push(`libvirtd ${pid} ignored SIGTERM; killed`);
        process.kill(pid, 'SIGKILL');
      }
      for (const p of [...pidsMentioning(dir), ...pidsMentioning(`guest=${domainPrefix}`)]) {
        problems.push(
          `process ${p} (${readFileSync(`/proc/${p}/comm`, 'utf8').trim()}) was left; killed`,
        );
        process.kill(p, 'SIGKILL');
      }
      // The bind mounts lived in libvirtd's mount namespace, gone with it and its QEMUs.
      for (let i = 0; i < 100 && pidsMentioning(dir).length > 0; i++) await sleep(50);
      for (const t of madeMountPoints) {
        try {
          rmdirSync(t);
        } catch (error) {
          problems.push(`could not remove ${t}: ${(error as Error).message}`);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
    return problems;
  };

  try {
    const socket = join(dir, 'run', 'libvirt-sock');
    for (let i = 0; i < 600 && !existsSync(socket); i++) {
      if (child.exitCode !== null) throw new Error(`libvirtd exited ${child.exitCode}: ${stderr}`);
      await sleep(50);
    }
    if (!existsSync(socket))
      throw new Error(`libvirtd did not make ${socket} within 30 s: ${stderr}`);
    virsh = await VirshShell.open(uri);
    await virsh.run('version');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    uri,
    pid,
    virsh,
    debugLog(file) {
      const [filters, outputs] = file
        ? ['1:qemu 1:libvirt 1:util.command 3:*', `1:file:/var/log/libvirt/${file}`]
        : ['', '3:file:/var/log/libvirt/libvirtd.log'];
      execFileSync('virt-admin', ['-c', adminUri, 'daemon-log-filters', filters], {
        stdio: 'ignore',
      });
      execFileSync('virt-admin', ['-c', adminUri, 'daemon-log-outputs', outputs], {
        stdio: 'ignore',
      });
    },
    stop,
  };
}
