// The single QEMU options formatter: every `key=value` list QEMU parses (QemuOpts and keyval,
// i.e. -netdev, -device, -chardev, -object, -machine, -mon) is built here and nowhere else.
//
// QEMU facts (util/qemu-option.c get_opt_value, util/keyval.c): values end at a single ',';
// a literal comma is written ',,'. The first element of a list may be an implied key
// ("-netdev tap,..." means type=tap); if that element contains '=' QEMU reads it as a key
// instead, so a positional may never contain '='. Booleans are spelled on/off.
import { ValidationError } from '../core/index.js';

/** A value QEMU can receive; undefined means "leave the option out". */
export type OptValue = string | number | boolean | undefined;

/** Ordered options: insertion order is the order on the command line. */
export type OptEntries = Readonly<Record<string, OptValue>>;

/** Keys QEMU uses: 'host_mtu', 'x-option-roms', 'memory-backend', 'addr'. */
const KEY_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** QEMU's id_wellformed() (util/id.c): a letter, then letters, digits, '-', '.', '_'. */
const QEMU_ID_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

// A value may carry anything but NUL (argv cannot) and line breaks (QEMU's parsers and logs
// would split it; nothing we pass has a legitimate newline).
export function checkArgText(value: string, path: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00\n\r]/.test(value)) {
    throw new ValidationError(
      path,
      value,
      'QEMU arguments may not contain NUL or line breaks',
      'QEMU_ARG_CONTROL_CHAR',
    );
  }
  return value;
}

// Commas end a value in QEMU's option syntax, so a literal comma is doubled.
export function escapeOptValue(value: string, path = 'value'): string {
  return checkArgText(value, path).replaceAll(',', ',,');
}

// Renders one value: on/off for booleans, decimal for finite numbers, escaped text otherwise.
function renderValue(value: string | number | boolean, path: string): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new ValidationError(path, value, 'a QEMU number must be finite', 'QEMU_OPT_VALUE');
    }
    return String(value);
  }
  if (typeof value !== 'string') {
    throw new ValidationError(
      path,
      value,
      'expected a string, number or boolean',
      'QEMU_OPT_VALUE',
    );
  }
  return escapeOptValue(value, path);
}

// A leading implied-key element ('tap', 'virtio-net-pci', 'microvm', '512M'): escaped like a
// value, and refused when it contains '=' (QEMU would parse it as a key) or is empty.
export function formatPositional(value: string, path = 'positional'): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('=')) {
    throw new ValidationError(
      path,
      value,
      "a leading QEMU option value must be a non-empty string without '='",
      'QEMU_OPT_POSITIONAL',
    );
  }
  return escapeOptValue(value, path);
}

// Builds 'positional,key=value,...' with undefined entries dropped; the result always parses
// back to exactly the keys given, whatever the values contain.
export function formatOpts(
  entries: OptEntries,
  options: { positional?: string; path?: string } = {},
): string {
  const base = options.path ?? 'options';
  const parts: string[] = [];
  if (options.positional !== undefined) parts.push(formatPositional(options.positional, base));
  for (const [key, value] of Object.entries(entries)) {
    if (!KEY_RE.test(key)) {
      throw new ValidationError(
        `${base}.${key}`,
        key,
        "a QEMU option key is a letter followed by letters, digits, '_', '.' or '-'",
        'QEMU_OPT_KEY',
      );
    }
    if (value === undefined) continue;
    parts.push(`${key}=${renderValue(value, `${base}.${key}`)}`);
  }
  return parts.join(',');
}

// QEMU refuses ids that are not well-formed (and an id can never hold a comma), so we check
// them up front and name the field.
export function validateQemuId(id: unknown, path: string): string {
  if (typeof id !== 'string' || !QEMU_ID_RE.test(id) || id.length > 127) {
    throw new ValidationError(
      path,
      id,
      "a QEMU id is a letter followed by letters, digits, '-', '.' or '_' (at most 127)",
      'QEMU_ID',
    );
  }
  return id;
}
