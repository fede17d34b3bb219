// vhost-net for tap NICs, by policy: 'auto' uses it when /dev/vhost-net can be opened and says
// why not otherwise; 'require' fails clearly; 'off' never opens it. Never silently changed.
import { UnsupportedError } from '../../core/index.js';
import type { TapHostNic, VhostState } from '../host-nic.js';
import type { AttachRun } from './attach-run.js';
import type { VhostNetPolicy } from './attach-types.js';

/** vhost-net fds (one per queue, the caller's) and whether vhost is on, with the reason. */
export interface VhostNetResult {
  fds: number[];
  state: VhostState;
}

// Errors of open("/dev/vhost-net") that mean "not available here" rather than "broken".
const UNAVAILABLE: Record<string, string> = {
  ENOENT: '/dev/vhost-net is absent (the vhost_net module is not loaded or not built)',
  ENODEV: '/dev/vhost-net has no driver behind it',
  EACCES: '/dev/vhost-net is not accessible to this process',
  EPERM: '/dev/vhost-net is not accessible to this process',
};

// The launcher must know whether to pass vhost=on, and the user why it is off.
/**
 * Opens `queues` vhost-net fds according to `policy` (default 'auto').
 * @throws {UnsupportedError} with 'require' when vhost-net cannot be opened.
 * @throws {NativeError} with 'auto' for failures other than unavailability (EMFILE...).
 */
export function openVhostNet(
  policy: VhostNetPolicy | undefined,
  queues: number,
  open: (count: number) => number[],
): VhostNetResult {
  const p = policy ?? 'auto';
  if (p === 'off') return { fds: [], state: { enabled: false, reason: "vhostNet is 'off'" } };
  try {
    return { fds: open(queues), state: { enabled: true } };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = typeof code === 'string' ? UNAVAILABLE[code] : undefined;
    if (p === 'require') {
      throw new UnsupportedError(`vhostNet 'require': ${why ?? String(error)}`, { cause: error });
    }
    if (why === undefined) throw error;
    return { fds: [], state: { enabled: false, reason: why } };
  }
}

// The last step of every tap-backed attach: vhost fds per policy, closed if attach fails later.
/**
 * Runs 'open vhost-net' as a step of `run`.
 * @throws {StepError} 'open vhost-net' (UnsupportedError inside with 'require').
 */
export async function vhostStep(run: AttachRun, queues: number): Promise<VhostNetResult> {
  const result = await run.step('open vhost-net', () =>
    openVhostNet(run.ctx.vhostNet, queues, run.deps.vhostNetOpen),
  );
  run.ownFds('close vhost-net fds', result.fds);
  return result;
}

/** What a tap-backed model found out, turned into the HostNic below. */
export interface TapNicParts {
  mac: string;
  mtu: number;
  ifname: string;
  tapFds: number[];
  vhost: VhostNetResult;
}

// One place builds the TapHostNic every tap-backed kind hands to the launcher.
/** The TapHostNic of an attach in `run`. */
export function tapHostNic(run: AttachRun, parts: TapNicParts): TapHostNic {
  const netns = run.netnsFile ?? undefined;
  return {
    kind: 'tap',
    id: run.ctx.nicId,
    mac: parts.mac,
    mtu: parts.mtu,
    tapFds: parts.tapFds,
    vhostFds: parts.vhost.fds,
    vhost: parts.vhost.state,
    ifname: parts.ifname,
    ...(netns === undefined ? {} : { netns }),
  };
}
