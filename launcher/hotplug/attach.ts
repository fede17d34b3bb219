// vm.attach(): host side (network layer or a ready HostNic), a free root port, the fds passed
// with getfd, netdev_add / chardev-add, device_add, then (optionally) the guest confirming the
// NIC: named steps run by plug-run.ts (shared with drives). Every step registers its inverse; a
// failure unwinds them in reverse and surfaces the first error with the rollback errors
// attached. Once device_add succeeded, removing the NIC is detach's job (device_del must be
// confirmed by DEVICE_DELETED before the backend goes).
import { ValidationError, type Step } from '../../core/index.js';
import type { HostNic } from '../../network/host-nic.js';
import { nicDevices, nicQemuIds } from '../devices/nic-devices.js';
import { hostNicFds } from '../../network/host-nic.js';
import { type HotplugContext } from './context.js';
import { HotplugStateError } from './errors.js';
import { waitForGuestNic } from './guest.js';
import { hotplugNetworkConfig, runGuestNet } from './guest-net.js';
import { newPlugRun, runAttach, waitGuestReadyStep, type PlugRun } from './plug-run.js';
import { fdNamer } from './qmp-plug.js';
import type { AttachOptions, HotplugSource, HotpluggedNic } from './types.js';

export { ATTACH_TIMEOUT } from './plug-run.js';

/** A NIC attach in progress: what it plugs, and the host side once made. */
interface NicRun extends PlugRun<HotpluggedNic> {
  readonly source: HotplugSource;
  readonly options: AttachOptions;
  nic?: HostNic;
  attached?: HotpluggedNic['attached'];
}

// The host side: the network layer attaches the endpoint, or the caller's HostNic is used.
const hostAttach: Step<NicRun> = {
  name: 'host-attach',
  async run(run) {
    const { hp, id, source } = run;
    const t = performance.now();
    if ('endpoint' in source) {
      const attached = await hp.attachEndpoint(source.endpoint, {
        nicId: id,
        ...(hp.owner !== undefined ? { owner: hp.owner } : {}),
        ...(hp.qemuUid !== undefined ? { qemuUid: hp.qemuUid } : {}),
        ...(source.netns !== undefined ? { netns: source.netns } : {}),
        ...(run.options.rate !== undefined ? { rate: run.options.rate } : {}),
        signal: run.deadline.signal,
      });
      run.steps.push('detach host side', () => attached.detach());
      run.attached = attached;
      run.nic = { ...attached.hostNic, id };
      run.ours = hostNicFds(run.nic);
    } else {
      if (run.options.rate !== undefined) {
        throw new ValidationError(
          'rate',
          run.options.rate,
          'rate limits need an endpoint for vmlaunch to attach, not a HostNic',
        );
      }
      run.nic = { ...source.nic, id };
    }
    run.timings.host = Math.round(performance.now() - t);
  },
};

// The NIC's QEMU objects on the reserved port, validated before anything is sent.
const devices: Step<NicRun> = {
  name: 'devices',
  run(run) {
    const { hp, id, bus } = run;
    const nic = run.nic!;
    const named = fdNamer(id);
    const objects = nicDevices(nic, {
      transport: hp.transport,
      sharedMemory: hp.sharedMemory,
      accel: hp.accel,
      fdRef: named.fdRef,
      bus,
      path: `attach(${id})`,
      ...(hp.romfile !== undefined ? { romfile: hp.romfile } : {}),
    });
    for (const device of objects) device.validate();
    // The guest-side network, checked here (before anything is plugged) like the devices.
    const config = run.attached
      ? hotplugNetworkConfig(run.attached, id, run.options.dns)
      : undefined;
    const item: HotpluggedNic = {
      id,
      mac: nic.kind === 'vfio' ? '' : nic.mac.toLowerCase(),
      bus,
      ...(run.attached ? { attached: run.attached } : {}),
      ...(config ? { guestNetwork: { config, applied: false } } : {}),
      timings: run.timings,
    };
    run.job = { item, deviceId: nicQemuIds(id).device, fds: named.fds, devices: objects };
  },
};

// The guest kernel has bound the NIC (its interface name is reported).
const guestSeesNic: Step<NicRun> = {
  name: 'guest-sees-nic',
  async run(run) {
    const exec = run.hp.guest!.exec!.bind(run.hp.guest);
    const item = run.job!.item;
    const t = performance.now();
    const view = await waitForGuestNic(exec, item.mac, true, {
      timeout: run.deadline.left(),
      signal: run.deadline.signal,
    });
    run.timings.guest = Math.round(performance.now() - t);
    if (view) item.guestIfname = view.ifname;
  },
};

// The NIC's addresses, routes, MTU (and DNS) applied in the guest; detach undoes them.
const guestConfigure: Step<NicRun> = {
  name: 'guest-configure',
  async run(run) {
    const guestNetwork = run.job!.item.guestNetwork!;
    const t = performance.now();
    await runGuestNet(run.hp.guest!.exec!.bind(run.hp.guest), 'apply', guestNetwork.config, {
      timeout: run.deadline.left(),
      signal: run.deadline.signal,
    });
    guestNetwork.applied = true;
    run.timings.configure = Math.round(performance.now() - t);
  },
};

// Hot-plugs one NIC into a running VM.
/**
 * Attaches `source` to the VM behind `ctx`.
 * The fds of a given `{ nic }` are taken over: closed here whether attach succeeds or fails.
 * With the default guest's harness, a NIC whose endpoint carries addresses is configured in
 * the guest (step 'guest-configure') before this resolves, unless options.configureGuest is false.
 * @throws HotplugStateError when the VM is not running, the id is taken, or waitForGuest is
 *   asked for a VM without a guest shell.
 * @throws HotplugError naming the failed step (`interrupted` when QEMU died meanwhile), with
 *   rollback errors attached; NoFreeSlotError (as its cause) when every root port is taken.
 */
export async function attachNic(
  ctx: HotplugContext,
  source: HotplugSource,
  options: AttachOptions = {},
): Promise<HotpluggedNic> {
  const given = 'nic' in source ? source.nic : undefined;
  let id: string;
  try {
    if (ctx.registry.vmEnded || !ctx.running() || ctx.qmp.state !== 'ready') {
      throw new HotplugStateError('cannot attach: the VM is not running', 'HOTPLUG_VM_STOPPED');
    }
    if (options.configureGuest === true && options.waitForGuest === false) {
      throw new HotplugStateError('configureGuest needs waitForGuest (the guest must see the NIC)');
    }
    if (
      (options.waitForGuest === true || options.configureGuest === true) &&
      ctx.guest?.exec === undefined
    ) {
      throw new HotplugStateError(
        'waitForGuest and configureGuest need a guest shell (the default guest booted with vmlaunch.console=harness)',
      );
    }
    id = ctx.registry.claimId(options.id ?? given?.id);
  } catch (error) {
    const fds = given ? hostNicFds(given) : [];
    if (fds.length > 0) ctx.closeFds(fds);
    throw error;
  }
  const run: NicRun = Object.assign(
    newPlugRun<HotpluggedNic>(ctx, id, options, given ? hostNicFds(given) : []),
    { source, options },
  );
  const waits = ctx.guest?.exec !== undefined && (options.waitForGuest ?? true);
  // A passed-through device (vfio) has no interface for the guest to show.
  const nic = await runAttach<HotpluggedNic, NicRun>(
    run,
    [waitGuestReadyStep, hostAttach, devices],
    (r) => {
      if (!waits || r.nic?.kind === 'vfio') return [];
      const configure = r.job!.item.guestNetwork !== undefined && options.configureGuest !== false;
      return configure ? [guestSeesNic, guestConfigure] : [guestSeesNic];
    },
  );
  ctx.logger?.debug({ nic: id, bus: nic.bus, timings: nic.timings }, 'NIC hot-plugged');
  return nic;
}
