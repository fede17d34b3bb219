// `vmlaunch demo`, the main job: a netns with a peer, a VM on the default guest with a veth
// endpoint, a ping from the guest to the peer, then a second NIC hot-plugged, pinged through and
// unplugged, shutdown, and nothing left behind. Exit status 0 only if both pings worked.
import { parseArgs } from 'node:util';
import { GUEST_HARNESS_APPEND, locateGuestImage } from '../guest-image.js';
import { launch } from '../launch.js';
import { lineSplitter } from '../script-lines.js';
import type { Vm } from '../vm.js';
import type { TemplateName } from '../../qemu-templates/index.js';
import { runHotplugDemo, type HotplugDemoResult } from './demo-hotplug.js';
import { createDemoNetwork, type DemoNetwork } from './demo-network.js';
import { Progress } from './progress.js';

// Runs the demo; returns the exit code.
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      template: { type: 'string' },
      accel: { type: 'string' },
      'keep-going': { type: 'boolean' },
    },
  });
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const progress = new Progress(say);
  say('vmlaunch demo: a VM with a veth endpoint pings a peer in another netns, then hot-plugs a');
  say('second NIC, pings through it and unplugs it');
  let network: DemoNetwork | undefined;
  let vm: Vm | undefined;
  let pinged = false;
  let hotplug: HotplugDemoResult | undefined;
  let skippedHotplug = false;
  try {
    const guest = await progress.step(
      'default guest ready (built or cached)',
      (onLog) => locateGuestImage({ onLog }),
      (g) => (g.cached ? 'cached' : 'built'),
    );
    network = await progress.step(
      'netns + veth + peer created',
      () => createDemoNetwork(),
      (n) => `${n.container.name}, peer ${n.peerAddress}`,
    );
    const net = network;
    // q35 by default: the demo hot-plugs a NIC, which needs PCIe root ports; microvm boots faster
    // (npm run bench:boot measures by how much) and is available with --template microvm.
    const template = (values.template ?? 'q35') as TemplateName;
    vm = await progress.step(
      `VM launched to QMP ready (${template})`,
      () =>
        launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          template,
          ...(values.accel ? { accel: values.accel as 'kvm' | 'tcg' } : {}),
          cmdline: [
            ...GUEST_HARNESS_APPEND.split(' ').filter((w) => !w.startsWith('console=')),
            `vmlaunch.ip=eth0,${net.guestCidr}`,
          ],
          endpoints: [
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: net.container.path,
            },
          ],
        }),
      (v) => `pid ${v.pid}, ${v.accel.accel.toUpperCase()}: ${v.accel.reason}`,
    );
    const running = vm;
    // The boot's console lines feed the live status line while it waits.
    await progress.step('guest booted (console ready)', async (onLog) => {
      const lines = lineSplitter(onLog);
      const unsubscribe = running.console.subscribe((chunk) => lines.push(chunk));
      try {
        await running.guest.waitReady({ timeout: 120_000 });
      } finally {
        unsubscribe();
      }
    });
    const nic = await progress.step(
      'guest sees its NIC',
      () => running.guest.check('cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu'),
      (out) => out.trim().replace('\n', ', mtu '),
    );
    void nic;
    const ping = await progress.step(
      `guest pings ${net.peerAddress}`,
      () => running.guest.exec(`ping -c 3 -W 2 ${net.peerAddress}`, { timeout: 30_000 }),
      (r) =>
        r.status === 0
          ? (/(\d+) packets received/.exec(r.output)?.[0] ?? 'ok')
          : `failed (status ${r.status})`,
    );
    pinged = ping.status === 0;
    if (!pinged) say(ping.output);
    // microvm boots faster (bench:boot) but has no hot-plug bus: its demo stops at cold plug.
    const canHotplug = running.command.template.hotplug.supported;
    if (canHotplug) hotplug = await runHotplugDemo(running, net, progress, say);
    else say(`  - hot-plug step skipped: ${running.command.template.hotplug.why}`);
    skippedHotplug = !canHotplug;
    await progress.step(
      'VM shut down',
      () => running.shutdown(),
      (exit) => `by ${exit.rung}`,
    );
  } finally {
    if (vm) await vm.shutdown();
    if (network) {
      const n = network;
      await progress.step('netns removed', () => Promise.resolve(n.remove()));
    }
  }
  say('');
  say(progress.summary());
  if (hotplug)
    say(
      `  hot-plug: attach ${hotplug.attachMs} ms, guest sees NIC ${hotplug.guestSeesMs} ms, ping ${hotplug.pingMs} ms, detach ${hotplug.detachMs} ms`,
    );
  const ok = pinged && (skippedHotplug || hotplug?.pinged === true);
  say(
    ok
      ? skippedHotplug
        ? 'demo: OK — the guest reached its peer through the veth endpoint (no hot-plug on this template)'
        : 'demo: OK — the guest reached its peer through the veth endpoint and through the hot-plugged NIC'
      : `demo: FAILED — ${pinged ? 'the ping through the hot-plugged NIC' : 'the first ping'} did not get through`,
  );
  return ok ? 0 : 1;
}
