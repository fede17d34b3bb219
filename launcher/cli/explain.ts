// Turns any error into sentences that say what went wrong and what to do, for the CLI.
import { UnsupportedError, ValidationError, VmlaunchError } from '../../core/index.js';
import { NativeError } from '../../native/index.js';
import { NetlinkError } from '../../network/errors.js';
import { ControlError, RemoteOperationError } from '../control/errors.js';
import { LaunchError } from '../errors.js';
import { UsageError } from './usage.js';

// What to tell a person about `error` (no stack trace unless --debug).
export function explainError(error: unknown, debug = false): string {
  const lines: string[] = [];
  if (error instanceof ValidationError) {
    lines.push(`Invalid input: ${error.message}.`, 'Fix that value and run the command again.');
  } else if (error instanceof LaunchError && error.code === 'QEMU_NOT_FOUND') {
    lines.push(error.message + '.');
  } else if (error instanceof LaunchError) {
    lines.push(`QEMU could not be started (step ${error.step}): ${error.message}`);
    lines.push('Run `vmlaunch doctor` to see what this host supports; add --debug for details.');
  } else if (error instanceof NativeError && (error.code === 'EPERM' || error.code === 'EACCES')) {
    lines.push(
      `${error.message}.`,
      'Host networking needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run as root.',
    );
  } else if (error instanceof NetlinkError) {
    lines.push(`The kernel refused a network change: ${error.message}.`);
    if (error.errnoName === 'EEXIST')
      lines.push('Something with that name already exists: pick another name or remove it.');
    if (error.errnoName === 'EPERM') lines.push('Run as root.');
  } else if (error instanceof UnsupportedError) {
    lines.push(
      `Not supported here: ${error.message}.`,
      'Run `vmlaunch doctor` to see what this host supports.',
    );
  } else if (error instanceof UsageError) {
    lines.push(`${error.message}.`, `usage: ${error.usage}`);
  } else if (error instanceof RemoteOperationError) {
    lines.push(error.explanation);
  } else if (error instanceof ControlError) {
    lines.push(`${error.message}.`);
    if (error.code === 'NO_SUCH_VM')
      lines.push(
        'Start one with `vmlaunch run --name NAME ...`; `vmlaunch list` shows the running ones.',
      );
    if (error.code === 'UNSAFE_RUNTIME_DIR' || error.code === 'STALE_SOCKET')
      lines.push(
        'vmlaunch only uses a private runtime dir (mode 0700, owned by this user, not a symlink).',
      );
  } else if (error instanceof VmlaunchError) {
    lines.push(`${error.message}`);
  } else if (error instanceof Error) {
    lines.push(`Unexpected error: ${error.message}`, 'Add --debug for a stack trace.');
  } else {
    lines.push(`Unexpected error: ${String(error)}`);
  }
  if (debug && error instanceof Error && error.stack) lines.push('', error.stack);
  if (debug && error instanceof Error && error.cause instanceof Error)
    lines.push('caused by:', error.cause.stack ?? error.cause.message);
  return lines.join('\n');
}
