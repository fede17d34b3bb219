// Prerequisites of integration and e2e tests: locally a missing one skips with its reason
// printed; under CI=true it fails the test instead, never a silent skip.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** True when running under CI (CI=true), where every prerequisite must be present. */
export const underCi = process.env.CI === 'true';

/** Why the current host cannot run root/netns tests, or undefined if it can. */
export function rootNetnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (`ip`) as a test oracle';
  }
  return undefined;
}

/**
 * Decides whether a suite runs: returns true to run. A missing prerequisite throws under CI
 * and returns false (with the reason printed) elsewhere; pair with `describe.runIf`.
 */
export function prerequisite(name: string, missing: string | undefined): boolean {
  if (missing === undefined) return true;
  const message = `${name}: prerequisite missing: ${missing}`;
  if (underCi) throw new Error(`${message} (CI=true: a missing prerequisite is a failure)`);
  console.warn(`SKIP ${message}`);
  return false;
}
