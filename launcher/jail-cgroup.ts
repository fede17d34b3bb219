// The jail's cgroup: memory and pids limits for one QEMU, as Firecracker's jailer does it.
// cgroup v2 is used where its hierarchy offers both controllers (/sys/fs/cgroup itself, or the
// hybrid layout's /sys/fs/cgroup/unified); otherwise the v1 `memory` and `pids` hierarchies.
// The VM's group is created next to (v2) or under (v1) the cgroup we run in, so limits an outer
// manager put on us still bound QEMU. QEMU joins it before exec (jail-exec writes "0" into each
// cgroup.procs), and the group is removed once QEMU is gone (an undo step).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnsupportedError } from '../core/index.js';

/** What a VM's cgroup limits. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

/** A created cgroup: the cgroup.procs files QEMU joins, and how to remove it. */
export interface VmCgroup {
  version: 1 | 2;
  /** One directory per hierarchy (v2: one; v1: memory and pids). */
  dirs: string[];
  /** The cgroup.procs file of each directory. */
  procsFiles: string[];
  /** Removes the directories (after QEMU has exited); retried briefly while the kernel lets go. */
  remove(): Promise<void>;
}

const CONTROLLERS = ['memory', 'pids'] as const;

// Our own cgroup in a hierarchy, from /proc/self/cgroup ("0::/path" for v2, "N:ctrl,..:/path").
export function ownCgroup(selfCgroup: string, controller: string | undefined): string {
  for (const line of selfCgroup.split('\n')) {
    const [, ctrls, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (path === undefined) continue;
    if (controller === undefined ? ctrls === '' : ctrls!.split(',').includes(controller)) {
      return path;
    }
  }
  return '/';
}

// The v2 mount with both controllers available, if any.
export function findV2(root: string): string | undefined {
  for (const mount of [root, join(root, 'unified')]) {
    const file = join(mount, 'cgroup.controllers');
    if (!existsSync(file)) continue;
    const have = readFileSync(file, 'utf8').trim().split(/\s+/);
    if (CONTROLLERS.every((c) => have.includes(c))) return mount;
  }
  return undefined;
}

/** Where a VM's cgroup would go on this host (no side effects), or why there is none. */
export function planCgroup(
  vmId: string,
  root = '/sys/fs/cgroup',
  selfCgroup = readFileSync('/proc/self/cgroup', 'utf8'),
): { version: 1 | 2; dirs: string[] } {
  const name = `vmlaunch-${vmId}`;
  const v2 = findV2(root);
  if (v2) {
    // v2 forbids processes in inner nodes: the VM's group is a sibling of ours (whose parent
    // already delegates both controllers, or we would not have them), or a child of the root.
    const own = ownCgroup(selfCgroup, undefined);
    return { version: 2, dirs: [join(v2, own === '/' ? '/' : dirname(own), name)] };
  }
  const v1 = CONTROLLERS.map((c) => join(root, c));
  if (v1.every((dir) => existsSync(join(dir, 'cgroup.procs')))) {
    return {
      version: 1,
      dirs: CONTROLLERS.map((c, i) => join(v1[i]!, ownCgroup(selfCgroup, c), name)),
    };
  }
  throw new UnsupportedError(
    `no cgroup hierarchy with the memory and pids controllers under ${root} (neither v2 nor v1); ` +
      'pass confine: false (CLI --no-confine) to run QEMU unconfined',
  );
}

// rmdir, retried while the group still counts a process that has just been reaped.
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw error;
      await sleep(20);
    }
  }
}

/**
 * Creates the VM's cgroup with its limits.
 * @throws UnsupportedError when the host has no usable hierarchy; system errors from cgroupfs.
 */
export function createCgroup(
  vmId: string,
  limits: CgroupLimits,
  root = '/sys/fs/cgroup',
): VmCgroup {
  const { version, dirs } = planCgroup(vmId, root);
  const made: string[] = [];
  const remove = async (): Promise<void> => {
    for (const dir of made.splice(0).reverse()) await removeDir(dir);
  };
  try {
    if (version === 2) {
      const dir = dirs[0]!;
      // Enabling what is already enabled is a no-op; at the root it is how leaves get them.
      writeFileSync(join(dirname(dir), 'cgroup.subtree_control'), '+memory +pids');
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      // Guest memory must not spill into swap behind the limit (absent without swap accounting).
      if (existsSync(join(dir, 'memory.swap.max')))
        writeFileSync(join(dir, 'memory.swap.max'), '0');
      writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    } else {
      const [memory, pids] = dirs as [string, string];
      mkdirSync(memory);
      made.push(memory);
      writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      mkdirSync(pids);
      made.push(pids);
      writeFileSync(join(pids, 'pids.max'), String(limits.pids));
    }
  } catch (error) {
    void remove();
    throw error;
  }
  return { version, dirs, procsFiles: dirs.map((d) => join(d, 'cgroup.procs')), remove };
}
