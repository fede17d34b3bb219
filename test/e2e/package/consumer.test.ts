// vmlaunch as a dependency: the packed tarball installs into a fresh project (its install
// script builds the addon there), and a plain JavaScript file on Node 20 — no TypeScript, no
// dev dependencies — launches the default guest, runs a command in it and shuts it down.
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

    // The published types resolve for a TypeScript consumer (strict, node16 resolution).
    writeFileSync(
      join(project, 'check.ts'),
      "import { launch, type LaunchOptions, type Vm } from 'vmlaunch';\n" +
        "const options: LaunchOptions = { kernel: '/vmlinuz', template: 'q35' };\n" +
        'const start: (o: LaunchOptions) => Promise<Vm> = launch;\n' +
        'export { options, start };\n',
    );
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
