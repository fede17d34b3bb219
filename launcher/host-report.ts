// What this host can do for vmlaunch, checked for real (a capability is tried inside a private
// anonymous netns, never on the host's own interfaces), and what vmlaunch falls back to.
import { execFile } from 'node:child_process';
import { constants, accessSync, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createAnonymousNetns } from '../network/netns/index.js';
import { openNetlink } from '../network/netlink/index.js';
import {
  chooseAccelerator,
  inspectKvmDevice,
  TCG_FALLBACK,
  verdictOfDevice,
  type AcceleratorChoice,
  type KvmDeviceState,
} from './accel.js';
import { resolveBinary } from './process.js';
import { guestKernelChecks, workloadToolChecks, type HostCheck } from './workload-report.js';

export type { HostCheck };

/** Everything `vmlaunch doctor` reports. */
export interface HostReport {
  qemu: { binary: string; version: string } | { missing: string };
  accelerator: AcceleratorChoice | { accel: 'tcg'; reason: string; cached: false };
  /** The KVM device node: absent, present but unusable, or present (then the probe decides). */
  kvm: KvmDeviceState;
  checks: HostCheck[];
}

// CAP_NET_ADMIN is bit 12 of the effective set (include/uapi/linux/capability.h).
export function hasCapNetAdmin(status = readFileSync('/proc/self/status', 'utf8')): boolean {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return line !== null && (BigInt(`0x${line[1]}`) & (1n << 12n)) !== 0n;
}

// A device node we can open read-write.
function deviceCheck(name: string, path: string, fallback: string): HostCheck {
  if (!existsSync(path)) return { name, ok: false, detail: `${path} does not exist`, fallback };
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return { name, ok: true, detail: `${path} is usable` };
  } catch {
    return { name, ok: false, detail: `${path} exists but is not readable and writable`, fallback };
  }
}

// Creates a link of `kind` inside a throw-away anonymous netns; the netns vanishes afterwards.
async function tryLinkKind(kind: 'macvtap' | 'bridge'): Promise<string | undefined> {
  let netns;
  try {
    netns = createAnonymousNetns();
  } catch (error) {
    return `cannot create a private netns to test in: ${(error as Error).message}`;
  }
  const client = openNetlink(netns.path);
  try {
    await client.links.addVeth({ name: 'vmlchk0', peer: { name: 'vmlchk1' } });
    if (kind === 'macvtap')
      await client.links.addMacvtap({ name: 'vmlchk2', parent: 'vmlchk0', mode: 'bridge' });
    else await client.links.addBridge({ name: 'vmlchk2' });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.close();
    netns.close();
  }
}

// QEMU's version line, or why there is none.
async function qemuVersion(binary: string): Promise<HostReport['qemu']> {
  try {
    const path = resolveBinary(binary);
    const { stdout } = await promisify(execFile)(path, ['--version']);
    return { binary: path, version: stdout.split('\n')[0]!.trim() };
  } catch (error) {
    return { missing: (error as Error).message };
  }
}

/**
 * Inspects this host: QEMU, the accelerator (with a real probe boot of `kernel` when given),
 * TUN, vhost-net, macvtap, bridges, VFIO, CAP_NET_ADMIN, qemu-img, virtiofsd, and (given the
 * default guest's manifest) what its kernel offers drives, shares and NICs.
 */
export async function inspectHost(
  options: { qemu?: string; kernel?: string; kvmDevice?: string; guestManifest?: string } = {},
): Promise<HostReport> {
  const qemu = await qemuVersion(options.qemu ?? 'qemu-system-x86_64');
  const kvm = inspectKvmDevice(options.kvmDevice);
  let accelerator: HostReport['accelerator'];
  if ('missing' in qemu) accelerator = { accel: 'tcg', reason: 'QEMU is missing', cached: false };
  else if (kvm.state !== 'present') accelerator = verdictOfDevice(kvm)!;
  else if (options.kernel) {
    accelerator = await chooseAccelerator({
      kernel: options.kernel,
      qemuBinary: qemu.binary,
      ...(options.kvmDevice ? { kvmDevice: options.kvmDevice } : {}),
    });
  } else {
    accelerator = {
      accel: 'tcg',
      reason: `KVM is present (${kvm.detail}), but whether it runs a guest is only known after a probe boot (give --kernel, or let \`vmlaunch run\`/\`demo\` probe); until then ${TCG_FALLBACK}`,
      cached: false,
    };
  }

  const capNetAdmin = hasCapNetAdmin();
  const checks: HostCheck[] = [
    {
      name: 'CAP_NET_ADMIN',
      ok: capNetAdmin,
      detail: capNetAdmin
        ? 'this process may change links and netns'
        : 'missing: host plumbing needs root or CAP_NET_ADMIN + CAP_SYS_ADMIN',
      ...(capNetAdmin ? {} : { fallback: 'only pre-made taps and vhost-user sockets can be used' }),
    },
    deviceCheck('tun', '/dev/net/tun', 'no tap endpoints; vhost-user only'),
    deviceCheck(
      'vhost-net',
      '/dev/vhost-net',
      'tap NICs run without vhost (QEMU moves packets in userspace, slower)',
    ),
  ];
  if (capNetAdmin) {
    const macvtap = await tryLinkKind('macvtap');
    checks.push({
      name: 'macvtap',
      ok: macvtap === undefined,
      detail: macvtap ?? 'a macvtap can be created',
      ...(macvtap
        ? { fallback: "the veth 'macvtap' model is unavailable; use 'tcfilter' (default)" }
        : {}),
    });
    const bridge = await tryLinkKind('bridge');
    checks.push({
      name: 'bridge',
      ok: bridge === undefined,
      detail: bridge ?? 'a bridge can be created',
      ...(bridge ? { fallback: "the veth 'bridged' model is unavailable; use 'tcfilter'" } : {}),
    });
  }
  const vfio = existsSync('/sys/bus/pci/drivers/vfio-pci');
  checks.push({
    name: 'vfio-pci',
    ok: vfio,
    detail: vfio
      ? 'the vfio-pci driver is loaded'
      : 'no vfio-pci driver (/sys/bus/pci/drivers/vfio-pci is absent)',
    ...(vfio ? {} : { fallback: 'physical (VFIO) endpoints are unavailable' }),
  });
  checks.push(...(await workloadToolChecks()));
  if (options.guestManifest) checks.push(...guestKernelChecks(options.guestManifest));
  return { qemu, accelerator, kvm, checks };
}
