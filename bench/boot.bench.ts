// Benchmark `npm run bench:boot`: which template boots the default guest fastest here, the
// evidence behind the demo's choice. Alternating rounds of launch -> guest ready marker for
// microvm and q35 (the baseline) under the accelerator the probe picks; medians, and the
// last line `template-boot-ratio: <microvm / q35>`.
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../launcher/guest-image.js';
import { launch } from '../launcher/launch.js';
import type { TemplateName } from '../qemu-templates/index.js';
import { BenchReport } from './report.js';

const report = new BenchReport('boot', {
  what: "launch() to the default guest's ready marker with the microvm template",
  baseline: 'the same boot with the q35 template, rounds alternating',
});

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const guest = await locateGuestImage();
const cmdline = GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console='));

// One boot to the guest's ready marker, in ms; a hang counts as a failure, not a time.
async function bootOnce(template: TemplateName): Promise<number | undefined> {
  const started = performance.now();
  const vm = await launch({ kernel: guest.kernel, initrd: guest.initrd, template, cmdline });
  report.accel(vm.accel.accel);
  try {
    await vm.guest.waitReady({ timeout: 30_000 });
    return performance.now() - started;
  } catch {
    return undefined;
  } finally {
    await vm.shutdown({ timeout: 5000 });
  }
}

const templates: TemplateName[] = ['microvm', 'q35'];
const times = new Map<TemplateName, number[]>(templates.map((t) => [t, []]));
const hangs = new Map<TemplateName, number>(templates.map((t) => [t, 0]));
for (let i = 0; i < ROUNDS; i++) {
  for (const t of i % 2 === 0 ? templates : [...templates].reverse()) {
    const ms = await bootOnce(t);
    if (ms === undefined) hangs.set(t, hangs.get(t)! + 1);
    else times.get(t)!.push(ms);
  }
}
const median = (v: number[]): number =>
  [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;
for (const t of templates) {
  console.log(
    `boot to ready ${t}: median ${median(times.get(t)!).toFixed(0)} ms over ${times.get(t)!.length} boots, ${hangs.get(t)} hung (of ${ROUNDS})`,
  );
}
for (const t of templates) report.samples(`boot to ready, ${t}`, times.get(t)!);
for (const t of templates) report.value(`hung boots, ${t} (of ${ROUNDS})`, hangs.get(t)!);
report.ratio(
  'template-boot-ratio',
  median(times.get('microvm')!) / median(times.get('q35')!),
  'median boot to ready, microvm / q35',
);
report.write();
