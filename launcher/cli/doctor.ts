// `vmlaunch doctor`: what this host can do, and what vmlaunch falls back to.
import { parseArgs } from 'node:util';
import { inspectHost } from '../host-report.js';
import { locateGuestImage } from '../guest-image.js';
import { StatusLine } from './status-line.js';

// Prints the host report as text or JSON; returns the exit code (0: QEMU and TUN usable).
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      kernel: { type: 'string' },
      'no-probe': { type: 'boolean' },
      qemu: { type: 'string' },
    },
  });
  let kernel = values.kernel;
  let guestManifest: string | undefined;
  if (!kernel && !values['no-probe']) {
    const guest = await new StatusLine(process.stderr).run('preparing the default guest', (onLog) =>
      locateGuestImage({ onLog }),
    );
    kernel = guest.kernel;
    guestManifest = guest.manifest;
  }
  const report = await inspectHost({
    ...(values.qemu ? { qemu: values.qemu } : {}),
    ...(kernel ? { kernel } : {}),
    ...(guestManifest ? { guestManifest } : {}),
  });
  const usable =
    !('missing' in report.qemu) && report.checks.find((c) => c.name === 'tun')?.ok === true;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return usable ? 0 : 1;
  }
  const lines = [
    'missing' in report.qemu
      ? `QEMU:               missing — ${report.qemu.missing}`
      : `QEMU:               ${report.qemu.version} (${report.qemu.binary})`,
    `Accelerator:        ${report.accelerator.accel.toUpperCase()} — ${report.accelerator.reason}`,
    ...report.checks.map(
      (c) =>
        `${(c.name + ':').padEnd(20)}${c.ok ? 'yes' : 'no '} — ${c.detail}${c.fallback ? `\n${' '.repeat(26)}fallback: ${c.fallback}` : ''}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return usable ? 0 : 1;
}
