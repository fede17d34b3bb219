// Guest RAM as an explicit memory backend object, so it can be shared (vhost-user) and bound
// to the machine with `-machine memory-backend=ID` (hw/core/machine.c, QEMU >= 5.0).
import { ValidationError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { QemuDevice, QmpCommandSpec } from './types.js';
import { checkInt } from './types.js';

/** QOM type per backend kind. */
export const MEMORY_BACKEND_TYPES = Object.freeze({
  memfd: 'memory-backend-memfd',
  ram: 'memory-backend-ram',
  file: 'memory-backend-file',
} as const);

export interface MemoryBackendSpec {
  id: string;
  kind: keyof typeof MEMORY_BACKEND_TYPES;
  sizeMiB: number;
  /** share=on: MAP_SHARED, so another process (vhost-user backend) can map it. */
  share: boolean;
  /** kind 'file': the file QEMU maps (a restore passes its RAM image as /proc/self/fd/N). */
  memPath?: string;
  path?: string;
}

/** Largest guest RAM we accept, in MiB (1 TiB): a typo guard, not a QEMU limit. */
export const MEMORY_MAX_MIB = 1024 * 1024;

// A memory backend as one object (-object on the command line, object-add over QMP).
export function memoryBackend(spec: MemoryBackendSpec): QemuDevice {
  const path = spec.path ?? 'memory';
  const qomType = MEMORY_BACKEND_TYPES[spec.kind];
  const validate = (): void => {
    validateQemuId(spec.id, `${path}.id`);
    checkInt(spec.sizeMiB, `${path}.sizeMiB`, 16, MEMORY_MAX_MIB);
    if ((spec.kind === 'file') !== (spec.memPath !== undefined)) {
      throw new ValidationError(
        `${path}.memPath`,
        spec.memPath,
        'a file backend needs memPath, and only a file backend takes one',
      );
    }
  };
  const memPath = spec.memPath !== undefined ? { 'mem-path': spec.memPath } : {};
  return {
    id: spec.id,
    kind: 'memory-backend',
    validate,
    toArgs() {
      validate();
      const opts = { id: spec.id, size: `${spec.sizeMiB}M`, ...memPath, share: spec.share };
      return ['-object', formatOpts(opts, { positional: qomType, path })];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const args = {
        'qom-type': qomType,
        id: spec.id,
        size: spec.sizeMiB * 1024 * 1024,
        ...memPath,
        share: spec.share,
      };
      return [{ execute: 'object-add', arguments: args }];
    },
    toQmpRemove() {
      return [{ execute: 'object-del', arguments: { id: spec.id } }];
    },
  };
}
