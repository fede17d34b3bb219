// Command-line groups that are not devices: machine type, accelerator, CPU, memory, SMP and
// the direct kernel boot. Each validates its fields and renders argv; none can be hot-plugged.
import { ValidationError } from '../../core/index.js';
import type { OptEntries } from '../opts.js';
import { checkArgText, formatOpts, formatPositional } from '../opts.js';
import { MEMORY_MAX_MIB } from './memory-backend.js';
import type { ArgGroup } from './types.js';
import { checkInt } from './types.js';

/** Accelerators we launch with, by config name -> QEMU `-accel` name. */
export const ACCELERATORS = Object.freeze({ kvm: 'kvm', tcg: 'tcg' } as const);
export type Accel = keyof typeof ACCELERATORS;

/** QEMU 7.2 refuses more than 288 vCPUs on q35 and microvm ('Invalid SMP CPUs 289'). */
export const MAX_CPUS = 288;

// `-machine TYPE,opts`: the template's options plus, when given, the memory backend binding.
export function machineArgs(type: string, options: OptEntries, path = 'machine'): ArgGroup {
  return {
    validate: () => void formatOpts(options, { positional: type, path }),
    toArgs: () => ['-machine', formatOpts(options, { positional: type, path })],
  };
}

// `-accel kvm|tcg`, refusing anything else by name.
export function accelArgs(accel: Accel, path = 'accel'): ArgGroup {
  const validate = (): void => {
    if (!Object.hasOwn(ACCELERATORS, accel)) {
      throw new ValidationError(path, accel, "expected 'kvm' or 'tcg'", 'ACCEL');
    }
  };
  return { validate, toArgs: () => (validate(), ['-accel', ACCELERATORS[accel]]) };
}

// `-cpu MODEL` (e.g. 'max', 'host'). -cpu is not QemuOpts: QEMU splits it at the first ','
// and never turns ',,' back into ',' (seen on 7.2: `-cpu max,,foo=bar` applied foo=bar), so
// escaping cannot protect it; a model is a plain name and nothing else.
export function cpuArgs(model: string, path = 'cpu'): ArgGroup {
  const validate = (): void => {
    if (typeof model !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(model)) {
      throw new ValidationError(
        path,
        model,
        'a CPU model is a name of [A-Za-z0-9._-] (e.g. max, host)',
        'CPU',
      );
    }
  };
  return { validate, toArgs: () => (validate(), ['-cpu', model]) };
}

// `-m SIZE` and `-smp cpus=N`.
export function sizingArgs(memoryMiB: number, cpus: number, path = ''): ArgGroup {
  const at = (field: string): string => (path ? `${path}.${field}` : field);
  const validate = (): void => {
    checkInt(memoryMiB, at('memory.sizeMiB'), 16, MEMORY_MAX_MIB);
    checkInt(cpus, at('cpus'), 1, MAX_CPUS);
  };
  return {
    validate,
    toArgs: () => (
      validate(),
      ['-m', formatPositional(`${memoryMiB}M`), '-smp', formatOpts({ cpus })]
    ),
  };
}

/** Direct kernel boot: the kernel, an optional initrd and the kernel command line. */
export interface BootSpec {
  kernel: string;
  initrd?: string | undefined;
  /** Joined with spaces. */
  append: readonly string[];
}

// -kernel/-initrd/-append take their argument verbatim (QEMU stores it as a machine property
// without option parsing: `-kernel '/a,b'` opens '/a,b'), so nothing is doubled, only checked.
export function bootArgs(spec: BootSpec, path = 'boot'): ArgGroup {
  const validate = (): void => {
    if (typeof spec.kernel !== 'string' || spec.kernel.length === 0) {
      throw new ValidationError(
        `${path}.kernel`,
        spec.kernel,
        'a kernel image path is required',
        'REQUIRED',
      );
    }
    checkArgText(spec.kernel, `${path}.kernel`);
    if (spec.initrd !== undefined) checkArgText(spec.initrd, `${path}.initrd`);
    spec.append.forEach((bit, i) => checkArgText(bit, `${path}.append[${i}]`));
  };
  return {
    validate,
    toArgs() {
      validate();
      const argv = ['-kernel', spec.kernel];
      if (spec.initrd !== undefined) argv.push('-initrd', spec.initrd);
      if (spec.append.length > 0) argv.push('-append', spec.append.join(' '));
      return argv;
    },
  };
}
