// Kernel arguments that let a guest keep time under TCG on machines without HPET or ACPI PM
// timer (microvm): the host's TSC rate, so the guest need not calibrate it against the PIT —
// under TCG that calibration is often rejected and the kernel then spins in calibrate_delay
// (scripts/guest/FINDINGS.md; tsc_early_khz is in Documentation/admin-guide/kernel-parameters).
import { readFileSync } from 'node:fs';
import type { MachineTemplate } from '../qemu-templates/index.js';
import type { Accel } from './devices/machine-args.js';

/** The host TSC rate in kHz, when the TSC ticks at a constant, known rate; else undefined. */
export function hostTscKhz(
  cpuinfo: string = readFileSync('/proc/cpuinfo', 'utf8'),
): number | undefined {
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  // tsc_known_freq: the kernel read the TSC rate from CPUID/the hypervisor instead of measuring
  // it, so on such hosts 'cpu MHz' is that rate; without it 'cpu MHz' may be the scaled core clock.
  for (const flag of ['constant_tsc', 'nonstop_tsc', 'tsc_known_freq']) {
    if (!flags.includes(flag)) return undefined;
  }
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)$/m.exec(cpuinfo)?.[1]);
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : undefined;
}

/** The extra kernel arguments for `template` under `accel`, and why (or why none). */
export function tcgClockArgs(
  template: MachineTemplate,
  accel: Accel,
  readTscKhz: () => number | undefined = () => hostTscKhz(),
): { args: string[]; note?: string } {
  if (accel !== 'tcg' || template.tcg.boot !== 'needs-tsc-hint') return { args: [] };
  const tscKhz = readTscKhz();
  if (tscKhz === undefined) {
    return {
      args: [],
      note: `${template.name} under TCG may hang early in boot: the host TSC rate is unknown (no constant_tsc/nonstop_tsc), so it cannot be passed to the guest; prefer q35`,
    };
  }
  return { args: [`tsc_early_khz=${tscKhz}`, 'tsc=reliable'] };
}
