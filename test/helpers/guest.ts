// The default guest for e2e tests: built (or found in the cache) once per test process.
import { execFileSync } from 'node:child_process';
import {
  GUEST_HARNESS_APPEND,
  locateGuestImage,
  type GuestImage,
} from '../../launcher/guest-image.js';

let image: Promise<GuestImage> | undefined;

/** The cached default guest (kernel + initramfs). */
export function defaultGuest(): Promise<GuestImage> {
  image ??= locateGuestImage();
  return image;
}

/** Kernel command-line words for the guest's console harness (console=ttyS0 comes from the template). */
export const HARNESS_CMDLINE = GUEST_HARNESS_APPEND.split(' ').filter(
  (w) => !w.startsWith('console='),
);

/** Why QEMU tests cannot run here, or undefined. */
export function qemuMissing(): string | undefined {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs qemu-system-x86_64 (Debian: qemu-system-x86)';
  }
}
