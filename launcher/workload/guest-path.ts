// Guest mount paths of drives and shares travel on the kernel command line to the default
// guest's init, which splits its arguments on spaces and commas: one rule for both.
import { ValidationError } from '../../core/index.js';

/** Guest paths the init can take apart: absolute, no spaces or commas. */
const GUEST_PATH_RE = /^\/[A-Za-z0-9._/+-]*$/;

// An absolute guest path of the init's alphabet, not '/' and without '.'/'..' segments;
// returned normalised (no doubled or trailing '/').
/** @throws ValidationError (GUEST_PATH) naming `path`. */
export function validateGuestPath(value: unknown, path: string): string {
  if (typeof value !== 'string' || !GUEST_PATH_RE.test(value) || value.length > 255) {
    throw new ValidationError(
      path,
      value,
      "expected an absolute guest path of letters, digits and '._/+-' (no spaces or commas)",
      'GUEST_PATH',
    );
  }
  const segments = value.split('/').filter(Boolean);
  if (segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
    throw new ValidationError(
      path,
      value,
      "a guest mount path is below '/' and has no '.' or '..' segments",
      'GUEST_PATH',
    );
  }
  return `/${segments.join('/')}`;
}
