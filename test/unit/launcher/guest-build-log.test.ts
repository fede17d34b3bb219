// The guest and rootfs builds hand their scripts' log lines to onLog as they come (the library
// prints nothing; the CLI shows them on its status line). Fake scripts stand in for the builds.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateGuestImage } from '../../../launcher/guest-image.js';
import { locateRootfsImage } from '../../../launcher/workload/drive-rootfs.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vml-build-log-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

// A script that logs to stderr the way build.sh does (a line split over two writes, a pause
// between lines, a last line without '\n') and prints `result` as its last stdout line. After
// its first line it waits (2 s at most, else it fails) until onLog has marked it as seen.
function script(result: string, exit = 0): string {
  const path = join(work, 'build.sh');
  writeFileSync(
    path,
    [
      'printf "vmlaunch guest: apt-" >&2',
      'sleep 0.05',
      'printf "get update\\n" >&2',
      // Goes on only once the caller has seen that line (so it came while the script ran).
      `for i in $(seq 100); do [ -e ${join(work, 'seen')} ] && break; sleep 0.02; done`,
      `[ -e ${join(work, 'seen')} ] || exit 9`,
      'echo "noise on stdout"',
      'sleep 0.05',
      'printf "vmlaunch guest: building k1\\r\\n\\n" >&2',
      'printf "vmlaunch guest: done" >&2',
      `echo '${result}'`,
      `exit ${exit}`,
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return path;
}

// The onLog of a test: keeps the lines, and marks the first as seen for the script.
function collect(lines: string[]): (line: string) => void {
  return (line) => {
    lines.push(line);
    writeFileSync(join(work, 'seen'), '');
  };
}

const LINES = [
  'vmlaunch guest: apt-get update',
  'vmlaunch guest: building k1',
  'vmlaunch guest: done',
];

describe('locateGuestImage onLog', () => {
  it('gets each line the build logs, in order, as it comes', async () => {
    const json = JSON.stringify({
      key: 'k1',
      dir: '/d',
      kernel: '/d/k',
      initrd: '/d/i',
      manifest: '/d/m',
    });
    const lines: string[] = [];
    const image = await locateGuestImage({ script: script(json), onLog: collect(lines) });
    expect(lines).toEqual(LINES);
    expect(image).toMatchObject({ key: 'k1', kernel: '/d/k', cached: false });
  });

  it('still gets the lines of a build that fails, whose error carries their tail', async () => {
    const lines: string[] = [];
    const failed = locateGuestImage({ script: script('{}', 3), onLog: collect(lines) });
    await expect(failed).rejects.toMatchObject({ code: 'GUEST_BUILD' });
    await expect(failed).rejects.toThrow(/building k1/);
    expect(lines).toEqual(LINES);
  });
});

describe('locateRootfsImage onLog', () => {
  it('gets each line the rootfs build logs', async () => {
    const json = JSON.stringify({
      key: 'r1',
      dir: '/r',
      image: '/r/rootfs.ext4',
      manifest: '/r/m',
    });
    const lines: string[] = [];
    const image = await locateRootfsImage({ script: script(json), onLog: collect(lines) });
    expect(lines).toEqual(LINES);
    expect(image.image).toBe('/r/rootfs.ext4');
  });
});
