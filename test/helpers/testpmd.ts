// dpdk-testpmd as a real vhost-user backend for e2e tests. Debian 12 ships the binary in
// `dpdk-dev` and the vhost PMD in `librte-net-vhost23` (a plugin dpdk-dev does not depend on).
// Installed, they are used as they are; otherwise the few .debs the binary needs are fetched with
// `apt-get download` (verified against the signed index) and unpacked with `dpkg-deb -x` into
// the vmlaunch cache, nothing installed on the host. The process runs in interactive mode so its
// port counters can be asked for at any time, and is always stopped by its own pid.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cacheDir } from '../../launcher/cache-dir.js';

const LIB = 'usr/lib/x86_64-linux-gnu';
const PMDS = `${LIB}/dpdk/pmds-23.0`;
/** The plugins testpmd needs for a vhost-user port (mempool ops + the vhost PMD). */
const PLUGINS = ['librte_mempool_ring.so.23.0', 'librte_net_vhost.so.23.0'];
/** Packages whose plugins are not among dpdk-testpmd's link-time dependencies. */
const PLUGIN_PACKAGES = ['librte-net-vhost23', 'librte-mempool-ring23', 'librte-vhost23'];

/** How to run dpdk-testpmd here. */
export interface TestpmdInstall {
  binary: string;
  env: NodeJS.ProcessEnv;
  /** EAL arguments loading the plugins (empty for an installed DPDK: it loads its plugin dir). */
  pluginArgs: string[];
  /** 'system' or the cache directory it was unpacked into. */
  source: string;
}

// Which Debian package provides a missing shared library (librte_* by DPDK's naming rule).
function packageOf(lib: string): string | undefined {
  const rte = /^librte_(.+)\.so\.23$/.exec(lib);
  if (rte) {
    const name = rte[1]!.replace(/_/g, '-');
    return /\d$/.test(name) ? `librte-${name}-23` : `librte-${name}23`;
  }
  const table: Record<string, string> = {
    'libnuma.so.1': 'libnuma1',
    'libfdt.so.1': 'libfdt1',
    'libjansson.so.4': 'libjansson4',
    'libbsd.so.0': 'libbsd0',
    'libmd.so.0': 'libmd0',
    'libelf.so.1': 'libelf1',
    'libpcap.so.0.8': 'libpcap0.8',
    'libibverbs.so.1': 'libibverbs1',
    'libmlx5.so.1': 'ibverbs-providers',
    'libmlx4.so.1': 'ibverbs-providers',
    'libnl-3.so.200': 'libnl-3-200',
    'libnl-route-3.so.200': 'libnl-route-3-200',
    'libdbus-1.so.3': 'libdbus-1-3',
    'libz.so.1': 'zlib1g',
    'libisal.so.2': 'libisal2',
    'libIPSec_MB.so.1': 'libipsec-mb1',
    'libxdp.so.1': 'libxdp1',
    'libbpf.so.1': 'libbpf1',
  };
  return table[lib];
}

// Libraries `ldd` cannot find for `files` with the unpacked tree on the library path.
function unresolved(root: string, files: string[]): string[] {
  const missing = new Set<string>();
  for (const file of files) {
    const out = execFileSync('ldd', [file], {
      encoding: 'utf8',
      env: { ...process.env, LD_LIBRARY_PATH: join(root, LIB) },
    });
    for (const m of out.matchAll(/^\s*(\S+) => not found/gm)) missing.add(m[1]!);
  }
  return [...missing].sort();
}

// Downloads and unpacks `packages` into `root` (in a scratch dir under it).
function unpack(root: string, packages: string[]): void {
  const debs = join(root, 'debs');
  mkdirSync(debs, { recursive: true });
  execFileSync('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...packages], {
    cwd: debs,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (const deb of readdirSync(debs)) {
    execFileSync('dpkg-deb', ['-x', join(debs, deb), root]);
  }
  rmSync(debs, { recursive: true, force: true });
}

// Fetches dpdk-testpmd and what it links against into `dir` (built beside it, moved in place).
function fetchIntoCache(dir: string): void {
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp, { recursive: true, mode: 0o755 });
  try {
    unpack(tmp, ['dpdk-dev', ...PLUGIN_PACKAGES]);
    const files = [join(tmp, 'usr/bin/dpdk-testpmd'), ...PLUGINS.map((p) => join(tmp, PMDS, p))];
    for (let round = 0; round < 8; round++) {
      const missing = unresolved(tmp, files);
      if (missing.length === 0) {
        renameSync(tmp, dir);
        return;
      }
      const unknown = missing.filter((lib) => packageOf(lib) === undefined);
      if (unknown.length > 0) throw new Error(`no package known for ${unknown.join(', ')}`);
      unpack(tmp, [...new Set(missing.map((lib) => packageOf(lib)!))]);
    }
    throw new Error(`still unresolved: ${unresolved(tmp, files).join(', ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// The installed testpmd (dpdk-dev + librte-net-vhost23), if both are there.
function systemInstall(): TestpmdInstall | undefined {
  try {
    execFileSync('dpdk-testpmd', ['--version'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return undefined;
  }
  if (!existsSync(`/${PMDS}/librte_net_vhost.so.23`)) return undefined;
  return { binary: 'dpdk-testpmd', env: process.env, pluginArgs: [], source: 'system' };
}

let located: TestpmdInstall | string | undefined;

/** dpdk-testpmd installed, or unpacked into the cache (fetching it once); else why not. */
export function locateTestpmd(): TestpmdInstall | string {
  if (located !== undefined) return located;
  const system = systemInstall();
  if (system) return (located = system);
  // DPDK refuses plugin paths under a world-writable directory: the cache is ours (0755).
  const dir = join(cacheDir(), 'testpmd', 'dpdk-22.11-bookworm');
  try {
    if (!existsSync(join(dir, 'usr/bin/dpdk-testpmd'))) {
      mkdirSync(join(cacheDir(), 'testpmd'), { recursive: true, mode: 0o755 });
      fetchIntoCache(dir);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return (located =
      'needs dpdk-testpmd (Debian: dpdk-dev + librte-net-vhost23), and fetching it into ' +
      `the cache failed: ${reason}`);
  }
  return (located = {
    binary: join(dir, 'usr/bin/dpdk-testpmd'),
    env: { ...process.env, LD_LIBRARY_PATH: join(dir, LIB) },
    pluginArgs: PLUGINS.flatMap((p) => ['-d', join(dir, PMDS, p)]),
    source: dir,
  });
}

/** Why testpmd cannot run here, or undefined. */
export function testpmdMissing(): string | undefined {
  const found = locateTestpmd();
  return typeof found === 'string' ? found : undefined;
}

/** One port's counters as testpmd reports them. */
export interface PortStats {
  rxPackets: number;
  txPackets: number;
}

/** A running testpmd serving one vhost-user port. */
export interface Testpmd {
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** Asks for port 0's counters (`show port stats 0`). */
  stats(): Promise<PortStats>;
  /** `quit`, then SIGKILL by pid if it has not ended; removes its runtime dir. Idempotent. */
  stop(): Promise<void>;
}

// Resolves when `pattern` appears in the output after `from`, or rejects at the deadline.
function waitOutput(
  read: () => string,
  child: ChildProcess,
  pattern: RegExp,
  from: number,
  timeout: number,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      const m = pattern.exec(read().slice(from));
      if (m) return resolve(m);
      if (child.exitCode !== null || child.signalCode !== null) {
        return reject(new Error(`testpmd exited:\n${read().slice(-2000)}`));
      }
      if (Date.now() - started > timeout) {
        return reject(
          new Error(`testpmd: no ${pattern} within ${timeout} ms:\n${read().slice(-2000)}`),
        );
      }
      setTimeout(tick, 20);
    };
    tick();
  });
}

/**
 * Starts testpmd as the vhost-user server on `socketPath` (QEMU connects as client) with the
 * given forwarding mode, and waits until the socket is bound.
 */
export async function startTestpmd(options: {
  socketPath: string;
  forwardMode: 'macswap' | '5tswap' | 'io' | 'rxonly';
  queues?: number;
}): Promise<Testpmd> {
  const install = locateTestpmd();
  if (typeof install === 'string') throw new Error(install);
  const prefix = `vml-tpmd-${randomBytes(4).toString('hex')}`;
  const args = [
    '--no-huge',
    '--no-shconf',
    '-m',
    '256',
    '--no-pci',
    '--file-prefix',
    prefix,
    ...install.pluginArgs,
    '--vdev',
    `net_vhost0,iface=${options.socketPath},queues=${options.queues ?? 1}`,
    '--',
    '-i',
    '--total-num-mbufs',
    '8192',
    `--forward-mode=${options.forwardMode}`,
    '--auto-start',
  ];
  // testpmd printf()s to a pipe (block-buffered): stdbuf (coreutils; it execs, same pid) makes
  // stdout line-buffered so that counters and events arrive when printed.
  const child = spawn('stdbuf', ['-oL', '-eL', install.binary, ...args], {
    env: install.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const ended = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const read = (): string => out;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end('quit\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await ended;
        clearTimeout(timer);
      }
      // EAL makes /var/run/dpdk/<prefix> even with --no-shconf; it is ours by its prefix.
      rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
    })();
    return stopping;
  };
  if (child.pid === undefined) {
    await ended;
    throw new Error(`testpmd did not start: ${out}`);
  }
  try {
    await waitOutput(read, child, /vhost-user server: socket created/, 0, 30_000);
    await waitOutput(read, child, /Start automatic packet forwarding/, 0, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  let queue: Promise<unknown> = Promise.resolve();
  const stats = (): Promise<PortStats> => {
    const run = queue.then(async () => {
      const from = out.length;
      child.stdin.write('show port stats 0\n');
      const m = await waitOutput(
        read,
        child,
        /NIC statistics for port 0[\s\S]*?RX-packets:\s+(\d+)[\s\S]*?TX-packets:\s+(\d+)[\s\S]*?#{20,}/,
        from,
        10_000,
      );
      return { rxPackets: Number(m[1]), txPackets: Number(m[2]) };
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return { pid: child.pid, output: read, stats, stop };
}
