import { describe, expect, it } from 'vitest';
import { hostTscKhz, tcgClockArgs } from '../../../launcher/tcg-clock.js';
import { resolveTemplate } from '../../../qemu-templates/index.js';

const constant =
  'flags\t\t: fpu tsc constant_tsc nonstop_tsc tsc_known_freq\ncpu MHz\t\t: 2596.130\n';
const variable = 'flags\t\t: fpu tsc constant_tsc nonstop_tsc\ncpu MHz\t\t: 1200.000\n';

describe('hostTscKhz', () => {
  it('reads the rate of a constant, non-stop TSC', () => {
    expect(hostTscKhz(constant)).toBe(2596130);
  });

  it('refuses to guess for a TSC without a constant rate', () => {
    expect(hostTscKhz(variable)).toBeUndefined();
  });
});

describe('tcgClockArgs', () => {
  it('gives microvm under TCG the TSC rate and tsc=reliable', () => {
    expect(tcgClockArgs(resolveTemplate('microvm'), 'tcg', () => 2596130)).toEqual({
      args: ['tsc_early_khz=2596130', 'tsc=reliable'],
    });
  });

  it('adds nothing for q35, or under KVM', () => {
    expect(tcgClockArgs(resolveTemplate('q35'), 'tcg', () => 2596130)).toEqual({ args: [] });
    expect(tcgClockArgs(resolveTemplate('microvm'), 'kvm', () => 2596130)).toEqual({ args: [] });
  });

  it('says why when the rate is unknown', () => {
    expect(tcgClockArgs(resolveTemplate('microvm'), 'tcg', () => undefined).note).toMatch(
      /may hang/,
    );
  });
});
