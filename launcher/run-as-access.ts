// What QEMU opens by path when it runs under a lower uid, checked as that uid before QEMU is
// started: the kernel and initrd (read while the machine is built), the binary itself, a
// vhost-user backend's socket (connect(2) needs write permission on it), and /dev/kvm. Every
// other thing QEMU uses arrives as an inherited fd (QMP and console socketpairs, tap queues)
// or is written by vmlaunch itself (the console log), so it does not depend on the uid.
// Refused outright: a vhost-user socket QEMU would create (server mode) — QEMU could not create
// it in a directory only root can write, and a directory it could write would let other
// processes of that uid replace the socket (docs/faults.md T21) — and VFIO, whose
// /dev/vfio/<group> vmlaunch does not hand over to another uid.
//
// The check runs `test -r/-w/-x` under setpriv with the very identity QEMU will get, so ACLs
// and the kernel's own rules decide, not a re-implementation of them; mode bits only explain.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UnsupportedError, ValidationError } from '../core/index.js';
import type { HostNic } from '../network/host-nic.js';
import type { EndpointSpec } from './launch-options.js';
import { describeIdentity, setprivIdentityArgs, type QemuIdentity } from './run-as.js';

const run = promisify(execFile);

/** One path QEMU will open, the access it needs, and the launch field it came from. */
export interface PathNeed {
  path: string;
  access: 'read' | 'write' | 'exec' | 'read-write';
  field: string;
}

const TEST_FLAGS: Record<PathNeed['access'], string> = {
  read: 'r',
  write: 'w',
  exec: 'x',
  'read-write': 'rw',
};

// Prints the index of every need the shell's `test` refuses. Paths arrive as arguments ("$2"),
// never inside the script text.
const CHECK_SCRIPT =
  'i=0; while [ $# -gt 0 ]; do ok=1; case $1 in *r*) [ -r "$2" ] || ok=0;; esac; ' +
  'case $1 in *w*) [ -w "$2" ] || ok=0;; esac; case $1 in *x*) [ -x "$2" ] || ok=0;; esac; ' +
  '[ $ok = 1 ] || echo $i; i=$((i+1)); shift 2; done';

// The NICs a launch plugs at boot, checked for what a lower uid can and cannot use.
/**
 * The sockets QEMU must reach as `identity` for these endpoints and NICs.
 * @throws ValidationError for a vhost-user socket QEMU would create, or a VFIO NIC.
 */
export function nicPathNeeds(specs: readonly EndpointSpec[], nics: readonly HostNic[]): PathNeed[] {
  const needs: PathNeed[] = [];
  const socket = (path: string, mode: string, field: string): void => {
    if (mode === 'server') {
      throw new ValidationError(
        field,
        path,
        'with runAs, QEMU cannot create a vhost-user socket in a directory only root may ' +
          'write; run the backend as the server and use client mode',
        'RUN_AS_VHOST_USER_SERVER',
      );
    }
    needs.push({ path, access: 'write', field });
  };
  const vfio = (field: string, address: string): never => {
    throw new ValidationError(
      field,
      address,
      'VFIO pass-through is not supported with runAs (QEMU would need /dev/vfio/<group>)',
      'RUN_AS_VFIO',
    );
  };
  specs.forEach(({ endpoint: e }, i) => {
    if (e.kind === 'vhost-user') socket(e.socketPath, e.mode, `endpoints[${i}].endpoint`);
    if (e.kind === 'physical') vfio(`endpoints[${i}].endpoint`, e.pciAddress);
  });
  nics.forEach((nic, i) => {
    if (nic.kind === 'vhost-user') socket(nic.socketPath, nic.mode, `nics[${i}]`);
    if (nic.kind === 'vfio') vfio(`nics[${i}]`, nic.pciAddress);
  });
  return needs;
}

// Why `identity` cannot reach `path`, from mode bits: the first directory it cannot search,
// else the file's own mode. Advisory only (ACLs may say otherwise).
export function explainDenied(path: string, identity: QemuIdentity): string {
  const may = (mode: number, uid: number, gid: number, bit: number): boolean => {
    if (uid === identity.uid) return (mode & (bit << 6)) !== 0;
    if (gid === identity.gid || identity.groups.includes(gid)) return (mode & (bit << 3)) !== 0;
    return (mode & bit) !== 0;
  };
  const describe = (p: string, mode: number, uid: number, gid: number): string =>
    `${p} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}, owner ${uid}:${gid})`;
  const absolute = resolve(path);
  const dirs: string[] = [];
  for (let d = dirname(absolute); ; d = dirname(d)) {
    dirs.unshift(d);
    if (d === dirname(d)) break;
  }
  try {
    for (const dir of dirs) {
      const st = statSync(dir);
      if (!may(st.mode, st.uid, st.gid, 1)) {
        return `it may not enter the directory ${describe(dir, st.mode, st.uid, st.gid)}`;
      }
    }
    const st = statSync(absolute);
    return `the file is ${describe(absolute, st.mode, st.uid, st.gid)}`;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'cannot stat it';
  }
}

const VERBS: Record<PathNeed['access'], string> = {
  read: 'read',
  write: 'connect to (write)',
  exec: 'execute',
  'read-write': 'open (read-write)',
};

// Runs `test` as the identity over every need; the first refused one is the error.
/**
 * Checks, as `identity`, that QEMU will be able to open every path it needs.
 * @throws ValidationError (code RUN_AS_ACCESS, path = the launch field) naming the file and
 *   the directory or mode that stops that uid.
 * @throws UnsupportedError when setpriv is missing.
 */
export async function checkPathsAs(identity: QemuIdentity, needs: PathNeed[]): Promise<void> {
  if (needs.length === 0) return;
  const args = needs.flatMap((n) => [TEST_FLAGS[n.access], n.path]);
  let out: string;
  try {
    const result = await run(
      'setpriv',
      [...setprivIdentityArgs(identity), '--', '/bin/sh', '-c', CHECK_SCRIPT, 'sh', ...args],
      { timeout: 10_000 },
    );
    out = result.stdout;
  } catch (error) {
    throw new UnsupportedError(
      `cannot check file access as ${describeIdentity(identity)} (setpriv from util-linux is needed for runAs)`,
      { cause: error },
    );
  }
  const refused = out.split('\n').filter(Boolean).map(Number);
  const first = refused[0];
  if (first === undefined) return;
  const need = needs[first]!;
  const others = refused.slice(1).map((i) => needs[i]!.path);
  throw new ValidationError(
    need.field,
    need.path,
    `QEMU runs as ${describeIdentity(identity)} (runAs) and could not ${VERBS[need.access]} ` +
      `this file: ${explainDenied(need.path, identity)}` +
      (others.length ? `; also refused: ${others.join(', ')}` : ''),
    'RUN_AS_ACCESS',
  );
}
