// The demo's hot-plug step: after the first ping, a second NIC (the container's eth1 veth) is
// hot-plugged into the running VM, the guest gets its address and pings the second peer
// through it, and the NIC is unplugged again, each part timed on the progress output.
import type { Vm } from '../vm.js';
import type { DemoNetwork } from './demo-network.js';
import { waitForGuestMac } from './guest-nic.js';
import type { Progress } from './progress.js';

/** Times of the hot-plug step's parts, in ms, and whether its ping got through. */
export interface HotplugDemoResult {
  pinged: boolean;
  attachMs: number;
  guestSeesMs: number;
  pingMs: number;
  detachMs: number;
}

// Guest interface names only ever come from /sys/class/net, but they go into a shell line.
function safeIfname(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`odd guest interface name ${name}`);
  return name;
}

// Runs the hot-plug step on a running VM whose guest has the harness shell.
/** @throws whatever attach/detach or the guest commands throw (the demo reports it). */
export async function runHotplugDemo(
  vm: Vm,
  net: DemoNetwork,
  progress: Progress,
  say: (line: string) => void,
): Promise<HotplugDemoResult> {
  const { second } = net;
  const nic = await progress.step(
    `hot-plug a second NIC (${second.ifname} veth, tcfilter)`,
    () =>
      vm.attach(
        {
          endpoint: { kind: 'veth', name: second.ifname, interworking: 'tcfilter' },
          netns: net.container.path,
        },
        { id: 'hp0', waitForGuest: false },
      ),
    (n) => `${n.id} on ${n.bus}, mac ${n.mac} (host ${n.timings.host} ms, QMP ${n.timings.qmp} ms)`,
  );
  const attachMs = progress.steps.at(-1)?.ms ?? 0;
  const ifname = await progress.step(
    'guest sees the hot-plugged NIC',
    () => waitForGuestMac(vm.guest, nic.mac, true),
    (name) => `${name} in /sys/class/net`,
  );
  const guestSeesMs = progress.steps.at(-1)?.ms ?? 0;
  const dev = safeIfname(ifname);
  await progress.step(`guest configures ${second.guestCidr} on ${dev}`, () =>
    vm.guest.check(`ip link set ${dev} up && ip addr add ${second.guestCidr} dev ${dev}`),
  );
  const ping = await progress.step(
    `guest pings ${second.peerAddress} through ${dev}`,
    () => vm.guest.exec(`ping -c 3 -W 2 -I ${dev} ${second.peerAddress}`, { timeout: 30_000 }),
    (r) =>
      r.status === 0
        ? (/(\d+) packets received/.exec(r.output)?.[0] ?? 'ok')
        : `failed (status ${r.status})`,
  );
  const pingMs = progress.steps.at(-1)?.ms ?? 0;
  if (ping.status !== 0) say(ping.output);
  const detached = await progress.step(
    `hot-unplug ${nic.id}`,
    () => vm.detach(nic.id, { timeout: 15_000 }),
    (r) => (r.status === 'removed' ? 'removed (DEVICE_DELETED)' : `pending: ${r.explanation}`),
  );
  const detachMs = progress.steps.at(-1)?.ms ?? 0;
  if (detached.status !== 'removed')
    throw new Error(`hot-unplug of ${nic.id} did not complete: ${detached.explanation}`);
  await progress.step('guest no longer shows the NIC', () =>
    waitForGuestMac(vm.guest, nic.mac, false),
  );
  return { pinged: ping.status === 0, attachMs, guestSeesMs, pingMs, detachMs };
}
