// T27 instruments for the hot-plug unit tests: a tripwire that aborts a signal when the k-th
// await point of an attach is reached, and a rig whose every await point reaches it: the guest's
// readiness, two host-side steps, QEMU receiving each plug command, the client receiving each
// reply, and each guest poll for the NIC. Every fake honours the signal as the real one does.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { AbortError, StepError } from '../../../../core/index.js';
import type { HotplugGuest } from '../../../../launcher/hotplug/context.js';
import type { HotplugRegistry } from '../../../../launcher/hotplug/registry.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import { openFdCount } from '../qmp/connected.js';
import type { Rig, RigOptions } from './harness.js';

/** The commands of the plug pipeline (rollback's removals are not await points of the attach). */
const PLUG_COMMANDS = new Set(['getfd', 'chardev-add', 'netdev_add', 'device_add']);

/** Aborts `ctl` when point number `at` (1-based) is reached; records every point reached. */
export class Tripwire {
  readonly reached: string[] = [];
  /** The point the abort happened at, once it did. */
  firedAt: string | undefined;
  ctl = new AbortController();
  private at = 0;

  /** Arms it for one attach: abort at point `at` (0: never). */
  arm(at: number): AbortSignal {
    this.ctl = new AbortController();
    this.at = at;
    this.reached.length = 0;
    this.firedAt = undefined;
    return this.ctl.signal;
  }

  /** Stops counting (rollback and later operations are not points of the armed attach). */
  disarm(): void {
    this.at = -1;
  }

  reach(point: string): void {
    if (this.at < 0) return;
    this.reached.push(point);
    if (this.reached.length === this.at) {
      this.firedAt = point;
      this.ctl.abort(new AbortError(`test abort at ${point}`));
      this.disarm();
    }
  }
}

// A few event-loop turns, cut short by `signal` as the real waits are.
function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(`aborted while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A guest that takes a moment to say it is ready, and shows the NIC from its second poll. */
export function slowGuest(trip: Tripwire, rigRef: { rg?: Rig }): HotplugGuest {
  let polls = 0;
  const seen = new Map<string, number>();
  return {
    async waitReady({ signal }) {
      seen.clear(); // a new attach
      polls = 0;
      trip.reach('wait-guest-ready');
      await pause(3, signal, 'the ready marker');
    },
    async exec(_command, options) {
      polls += 1;
      const mine = polls;
      trip.reach(`guest poll ${mine}`);
      await pause(3, options?.signal, 'the guest command');
      const nics = [...(rigRef.rg?.qemu.devices ?? [])].filter((d) => d.startsWith('nic-'));
      // Visible from the second poll that finds the device (the guest takes a moment to bind it).
      const key = nics.join(',');
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      const visible = nics.length > 0 && count >= 2;
      return { output: visible ? 'eth1 1500\n' : '', status: 0 };
    },
  };
}

/** Host-side attach counters: what the network layer made and what was undone. */
export interface HostBooks {
  attached: number;
  detached: number;
}

// The host-side attach as two steps, each an await point; like the network layer it notices an
// abort between steps (rolling back what it made), not after its last one.
export function steppedHost(rg: Rig, trip: Tripwire): HostBooks {
  const books: HostBooks = { attached: 0, detached: 0 };
  const inner = rg.ctx.attachEndpoint.bind(rg.ctx);
  rg.ctx.attachEndpoint = async (endpoint, c) => {
    trip.reach('host: first step');
    await pause(2, undefined, 'host step');
    if (c.signal?.aborted) throw new StepError('open tap', new AbortError('host attach aborted'));
    const attached = await inner(endpoint, c);
    books.attached += 1;
    trip.reach('host: last step');
    await pause(2, undefined, 'host step');
    return {
      ...attached,
      detach: async () => {
        books.detached += 1;
        await attached.detach();
      },
    };
  };
  return books;
}

// Makes each plug command's arrival at QEMU and each reply's arrival at the client a point.
export function instrumentQmp(rg: Rig, trip: Tripwire): void {
  rg.qemu.pace = 2; // one reply at a time, so that an abort can land between two of them
  const script = rg.qemu.script;
  rg.qemu.script = (c, n) => {
    if (PLUG_COMMANDS.has(c.execute)) trip.reach(`QEMU got ${label(c.execute, c.arguments)}`);
    return script(c, n);
  };
  const qmp = rg.qmp as QmpClient & Record<string, unknown>;
  const execute = qmp.execute.bind(qmp);
  const withFds = qmp.executeWithFds.bind(qmp);
  const replied =
    (command: string, args: unknown) =>
    <T>(value: T): T => {
      if (PLUG_COMMANDS.has(command)) trip.reach(`reply ${label(command, args)}`);
      return value;
    };
  qmp.execute = ((command: string, args?: object, options?: object) =>
    execute(command, args, options).then(replied(command, args))) as QmpClient['execute'];
  qmp.executeWithFds = ((command: string, args: object | undefined, fds: number[], o?: object) =>
    withFds(command, args, fds, o).then(replied(command, args))) as QmpClient['executeWithFds'];
}

// 'getfd tap0' (the fd's role, from its name), 'netdev_add', 'device_add'...
function label(command: string, args: unknown): string {
  const fdname = (args as { fdname?: string } | undefined)?.fdname;
  return fdname === undefined ? command : `${command} ${fdname.split('_').at(-1)}`;
}

/** QEMU's books and ours, as they are when no NIC is hot-plugged. */
export interface Books {
  qemuFds: number;
  qemuObjects: string[];
  ourFds: number;
  nics: string[];
  busyPorts: string[];
  hostLeft: number;
}

// Everything T27 compares with the baseline after each abort.
export function books(rg: Rig, host: HostBooks): Books {
  const registry: HotplugRegistry = rg.ctx.registry;
  return {
    qemuFds: rg.qemu.openFds,
    qemuObjects: [...rg.qemu.namedFds.keys(), ...rg.qemu.netdevs.keys(), ...rg.qemu.devices],
    ourFds: openFdCount(),
    nics: registry.list().map((r) => r.nic.id),
    busyPorts: [...registry.occupancy].filter(([, nic]) => nic !== undefined).map(([b]) => b),
    hostLeft: host.attached - host.detached,
  };
}

/** Rig options of the T27 tests: a slow guest, and device_del answered by a prompt release. */
export function abortRigOptions(
  trip: Tripwire,
  rigRef: { rg?: Rig },
  extra: RigOptions = {},
): RigOptions {
  return {
    guest: slowGuest(trip, rigRef),
    script: (c) => {
      // The guest releases the device shortly after the unplug request, as a real one does.
      const id = (c.arguments as { id?: string } | undefined)?.id;
      if (c.execute === 'device_del' && id !== undefined && rigRef.rg?.qemu.devices.has(id)) {
        setTimeout(() => rigRef.rg?.qemu.deleted(id), 5);
      }
      return undefined;
    },
    ...extra,
  };
}
