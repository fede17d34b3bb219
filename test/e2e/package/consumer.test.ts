// vmlaunch as a dependency: the packed tarball installs into a fresh project (its install
// script builds the addon there), and a plain JavaScript file on Node 20 — no TypeScript, no
// dev dependencies — launches the default guest, runs a command in it and shuts it down. The
// subpath entries resolve with their types, and internals are out of reach.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prerequisite } from '../../helpers/prereq.js';
import { qemuMissing } from '../../helpers/guest.js';

const repo = new URL('../../../', import.meta.url).pathname;

const CONSUMER = `
import { launch, locateGuestImage, GUEST_HARNESS_APPEND, ValidationError } from 'vmlaunch';
const guest = await locateGuestImage();
const vm = await launch({
  kernel: guest.kernel,
  initrd: guest.initrd,
  cmdline: GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console=')),
  template: 'microvm',
});
let result;
try {
  await vm.guest.waitReady({ timeout: 120000 });
  result = await vm.guest.exec('echo consumer-$((6 * 7)) $(uname -r)');
} finally {
  const exit = await vm.shutdown();
  console.log(JSON.stringify({ result, exit, validation: typeof ValidationError }));
}
`;

// Each subpath loads, and what is not an entry (a module by its path, dist/ itself) does not.
const ENTRIES = `
const root = await import('vmlaunch');
const qmp = await import('vmlaunch/qmp');
const network = await import('vmlaunch/network');
const native = await import('vmlaunch/native');
const refused = async (spec) =>
  import(spec).then(() => 'loaded', (e) => e.code);
console.log(JSON.stringify({
  qmp: typeof qmp.connectQmp,
  network: [typeof network.openNetlink, typeof network.attachEndpoint, typeof network.createNetns],
  native: [typeof native.tapOpen, typeof native.sendFds],
  rootHas: ['launch', 'runInVm', 'scanNetns', 'LaunchError'].filter((n) => n in root),
  leaked: [
    ...['launchWithDeps', 'deepFreeze', 'HotplugRegistry', 'REDIRECT_PREF', 'mount', 'mknodChar']
      .filter((n) => n in root),
    ...['attachTapWith', 'REDIRECT_PREF'].filter((n) => n in network),
    ...['mount', 'mknodChar', 'umount', 'loadBinding'].filter((n) => n in native),
  ],
  internals: [
    await refused('vmlaunch/launcher/launch.js'),
    await refused('vmlaunch/dist/index.js'),
    await refused('vmlaunch/dist/launcher/launch.js'),
  ],
}));
`;

// A strict TypeScript consumer: the root and every subpath type-check; internals do not resolve
// and LaunchOptions has no test hook (each @ts-expect-error fails the check if it compiles).
const TYPES = `
import { launch, type LaunchOptions, type Vm, type VmlaunchError } from 'vmlaunch';
import { connectQmp, type QmpClient, QmpCommandError } from 'vmlaunch/qmp';
import { openNetlink, type NetlinkClient, type Endpoint } from 'vmlaunch/network';
import { tapOpen, type TapOpenOptions } from 'vmlaunch/native';
// @ts-expect-error internals are not an entry
import { launchWithDeps } from 'vmlaunch/launcher/launch.js';
const options: LaunchOptions = { kernel: '/vmlinuz', template: 'q35' };
// @ts-expect-error the test seam is not part of the options
const seam: LaunchOptions = { kernel: '/vmlinuz', deps: {} };
const start: (o: LaunchOptions) => Promise<Vm> = launch;
const qmp: (fd: number) => Promise<QmpClient> = (fd) => connectQmp({ fd });
const netlink: (ns: string) => NetlinkClient = (ns) => openNetlink(ns);
const endpoint: Endpoint = { kind: 'tap', name: 'vmltap0' };
const tap: TapOpenOptions = { queues: 2 };
const isError = (e: unknown): e is VmlaunchError => e instanceof QmpCommandError;
export { options, seam, start, qmp, netlink, endpoint, tap, isError, launchWithDeps, tapOpen };
`;

describe.runIf(prerequisite('package consumer', qemuMissing()))('the packed package', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vml-consumer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('installs into a fresh project and runs the default guest from plain JavaScript', () => {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const project = join(dir, 'project');
    execFileSync('mkdir', [project]);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', join(dir, tarball!)], {
      cwd: project,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // The addon was built by the package's own install script, in the consumer's tree.
    const release = join(project, 'node_modules', 'vmlaunch', 'native', 'build', 'Release');
    expect(readdirSync(release)).toContain('vmlaunch_native.node');
    writeFileSync(join(project, 'consumer.mjs'), CONSUMER);
    const out = execFileSync(process.execPath, ['consumer.mjs'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const report = JSON.parse(out.trim().split('\n').pop()!) as {
      result: { output: string; status: number };
      exit: { unexpected: boolean };
      validation: string;
    };
    expect(report.result.status).toBe(0);
    expect(report.result.output).toMatch(/^consumer-42 \d+\.\d+/);
    expect(report.exit.unexpected).toBe(false);
    expect(report.validation).toBe('function');

    writeFileSync(join(project, 'entries.mjs'), ENTRIES);
    const entries = JSON.parse(
      execFileSync(process.execPath, ['entries.mjs'], { cwd: project, encoding: 'utf8' }).trim(),
    ) as Record<string, unknown>;
    expect(entries).toEqual({
      qmp: 'function',
      network: ['function', 'function', 'function'],
      native: ['function', 'function'],
      rootHas: ['launch', 'runInVm', 'scanNetns', 'LaunchError'],
      leaked: [],
      internals: [
        'ERR_PACKAGE_PATH_NOT_EXPORTED',
        'ERR_PACKAGE_PATH_NOT_EXPORTED',
        'ERR_PACKAGE_PATH_NOT_EXPORTED',
      ],
    });

    // The published types resolve for a TypeScript consumer (strict, node16 resolution).
    writeFileSync(join(project, 'check.ts'), TYPES);
    execFileSync(
      process.execPath,
      [
        join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
        ...['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16'],
        ...[
          '--target',
          'es2022',
          '--types',
          'node',
          '--typeRoots',
          join(repo, 'node_modules', '@types'),
        ],
        'check.ts',
      ],
      { cwd: project, stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }, 600_000);
});
