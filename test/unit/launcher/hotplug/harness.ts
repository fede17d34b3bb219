// The hot-plug unit tests' QEMU: a fake QMP server that keeps QEMU's side of the books (the
// getfd table and the netdevs holding fds, as QEMU 7.2 does: netdev_add consumes named fds,
// netdev_del closes them), answers per a script, and a HotplugContext around a real client.
import { openSync } from 'node:fs';
import { afterEach, expect } from 'vitest';
import { closeAll, closeFd } from '../../../../native/index.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';
import type { HostNic } from '../../../../network/host-nic.js';
import { attachNic } from '../../../../launcher/hotplug/attach.js';
import type { HotplugContext, HotplugGuest } from '../../../../launcher/hotplug/context.js';
import { HotplugError } from '../../../../launcher/hotplug/errors.js';
import { HotplugRegistry } from '../../../../launcher/hotplug/registry.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { FakeCommand, FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake, openFdCount, settle } from '../qmp/connected.js';

/** How the fake answers one command: normally, with an error, silence (not acted on), acting
 *  on it without answering (a lost or late reply), or by dying. */
export type Answer =
  | 'ok'
  | 'silence'
  | 'apply-silently'
  | 'die'
  | { error: string; class?: string }
  | { events: Array<[string, object]> };

/** A script: decides the answer from the command and how many of its kind came before. */
export type Script = (command: FakeCommand, nth: number) => Answer | undefined;

/** The fake QEMU: its fd table, its netdevs, chardevs and devices. */
export class FakeQemu {
  readonly namedFds = new Map<string, number>();
  readonly netdevs = new Map<string, number[]>();
  readonly chardevs = new Set<string>();
  readonly devices = new Set<string>();
  private readonly counts = new Map<string, number>();
  /** Milliseconds QEMU takes for each command (0: answers at once, in one batch). */
  pace = 0;

  constructor(
    readonly fake: FakeQmp,
    public script: Script = () => undefined,
  ) {
    void this.serve();
  }

  /** Commands received, as 'execute' or 'execute arg' for the interesting ones. */
  get transcript(): string[] {
    return this.fake.received.map((c) => {
      const a = (c.arguments ?? {}) as { fdname?: string; id?: string };
      const what = a.fdname ?? a.id ?? '';
      return `${c.execute}${what === '' ? '' : ` ${what}`}`;
    });
  }

  /** fds QEMU would hold open for us: named ones plus those inside netdevs. */
  get openFds(): number {
    return this.namedFds.size + [...this.netdevs.values()].flat().length;
  }

  /** Hangs up and closes what "QEMU" held, as a dying QEMU does. */
  die(): void {
    for (const fd of this.namedFds.values()) closeFd(fd);
    for (const fds of this.netdevs.values()) closeAll(fds);
    this.namedFds.clear();
    this.netdevs.clear();
    this.fake.close();
  }

  private async serve(): Promise<void> {
    for (;;) {
      const command = await this.fake.nextCommand();
      if (this.pace > 0) await settle(this.pace);
      const nth = (this.counts.get(command.execute) ?? 0) + 1;
      this.counts.set(command.execute, nth);
      const answer = this.script(command, nth) ?? 'ok';
      if (answer === 'silence') continue;
      if (answer === 'apply-silently') {
        this.apply(command);
        continue;
      }
      if (answer === 'die') return this.die();
      if (typeof answer === 'object' && 'error' in answer) {
        closeAll(command.fds);
        this.fake.fail(command, answer.class ?? 'GenericError', answer.error);
        continue;
      }
      const failure = this.apply(command);
      if (failure) this.fake.fail(command, failure[0], failure[1]);
      else this.fake.reply(command);
      if (typeof answer === 'object')
        for (const [name, data] of answer.events) this.fake.event(name, data);
    }
  }

  // QEMU's bookkeeping of one successful command; returns [class, desc] if QEMU would refuse.
  private apply(c: FakeCommand): [string, string] | undefined {
    const a = (c.arguments ?? {}) as Record<string, string | undefined>;
    const id = a.id ?? '';
    switch (c.execute) {
      case 'getfd':
        this.namedFds.set(String(a.fdname), c.fds[0]!);
        return undefined;
      case 'closefd': {
        const fd = this.namedFds.get(String(a.fdname));
        if (fd === undefined)
          return ['GenericError', `File descriptor named '${String(a.fdname)}' not found`];
        closeFd(fd);
        this.namedFds.delete(String(a.fdname));
        return undefined;
      }
      case 'netdev_add': {
        const names = [a.fd, a.fds, a.vhostfd, a.vhostfds]
          .filter((v): v is string => typeof v === 'string')
          .flatMap((v) => v.split(':'));
        // Like QEMU: an unknown fd name, chardev or a taken id refuses the whole command.
        const missing = names.find((n) => !this.namedFds.has(n));
        if (missing !== undefined)
          return ['GenericError', `File descriptor named '${missing}' has not been found`];
        if (a.chardev !== undefined && !this.chardevs.has(a.chardev))
          return ['GenericError', `chardev "${a.chardev}" not found`];
        if (this.netdevs.has(id)) return ['GenericError', `Duplicate ID '${id}' for netdev`];
        const fds = names.map((n) => this.namedFds.get(n)!);
        for (const n of names) this.namedFds.delete(n);
        this.netdevs.set(id, fds);
        return undefined;
      }
      case 'netdev_del': {
        const fds = this.netdevs.get(id);
        if (fds === undefined) return ['DeviceNotFound', `Device '${id}' not found`];
        closeAll(fds);
        this.netdevs.delete(id);
        return undefined;
      }
      case 'chardev-add':
        this.chardevs.add(id);
        return undefined;
      case 'chardev-remove':
        if (!this.chardevs.delete(id)) return ['GenericError', `Chardev '${id}' not found`];
        return undefined;
      case 'device_add':
        if (a.netdev !== undefined && !this.netdevs.has(a.netdev))
          return [
            'GenericError',
            `Property '${String(a.driver)}.netdev' can't find value '${a.netdev}'`,
          ];
        if (this.devices.has(id)) return ['GenericError', `Duplicate device ID '${id}'`];
        this.devices.add(id);
        return undefined;
      case 'device_del':
        if (!this.devices.has(id)) return ['DeviceNotFound', `Device '${id}' not found`];
        return undefined;
      default:
        return undefined;
    }
  }

  // Completes an unplug, as QEMU does when the guest released the device.
  deleted(id: string): void {
    this.devices.delete(id);
    this.fake.event('DEVICE_DELETED', { device: id, path: `/machine/peripheral/${id}` });
  }
}

/** A host side that records its detach (as the network layer's attach would return it). */
export interface FakeHost {
  detached: number;
  attached: AttachedEndpoint | undefined;
}

/** Two fds of /dev/null per queue stand in for tap queue fds. */
export function tapNic(id: string, queues = 1): HostNic {
  const fds = Array.from({ length: queues }, () => openSync('/dev/null', 'r'));
  return {
    kind: 'tap',
    id,
    mac: '52:54:00:00:00:01',
    mtu: 1500,
    tapFds: fds,
    vhostFds: [],
    vhost: { enabled: false },
    ifname: 'vmlt0',
  };
}

/** The pieces of one test. */
export interface Rig {
  qemu: FakeQemu;
  qmp: QmpClient;
  ctx: HotplugContext;
  host: FakeHost;
  close(): Promise<void>;
}

/** How a rig is made: the host NIC attach returns, root ports, guest, memory, QEMU's script. */
export interface RigOptions {
  nic?: () => HostNic;
  buses?: string[];
  guest?: HotplugGuest;
  sharedMemory?: boolean;
  script?: Script;
}

/** A connected fake QEMU and a HotplugContext around it; `nic` is what the endpoint attach returns. */
export async function rig(options: RigOptions = {}): Promise<Rig> {
  const { fake, qmp } = await connectedToFake();
  const qemu = new FakeQemu(fake, options.script);
  const host: FakeHost = { detached: 0, attached: undefined };
  const ctx: HotplugContext = {
    qmp,
    registry: new HotplugRegistry(options.buses ?? ['rp0', 'rp1']),
    transport: 'pci',
    sharedMemory: options.sharedMemory ?? false,
    accel: 'tcg',
    romfile: 'none',
    machine: 'q35',
    ...(options.guest ? { guest: options.guest } : {}),
    running: () => !fake.clientClosed && qmp.state === 'ready',
    attachEndpoint: (endpoint, c) => {
      const hostNic = { ...(options.nic ?? (() => tapNic(c.nicId)))(), id: c.nicId };
      host.attached = {
        endpoint,
        hostNic,
        detach: () => {
          host.detached++;
          return Promise.resolve();
        },
      };
      return Promise.resolve(host.attached);
    },
    closeFds: closeAll,
  };
  return {
    qemu,
    qmp,
    ctx,
    host,
    async close() {
      qmp.close();
      qemu.die();
      await settle();
    },
  };
}

/** A tap endpoint (its host side comes from the rig). */
export const TAP = { endpoint: { kind: 'tap' as const, name: 'vmlt0' } };

/**
 * One rig per test: returns the function that starts it, and registers an afterEach that closes
 * it and checks our open fd count is back to what it was when it started. Call at file level.
 */
export function rigPerTest(): (options?: RigOptions) => Promise<Rig> {
  let r: Rig | undefined;
  let fdsBefore = 0;
  afterEach(async () => {
    await r?.close();
    r = undefined;
    expect(openFdCount()).toBe(fdsBefore);
  });
  return async (options = {}) => {
    fdsBefore = openFdCount();
    r = await rig(options);
    return r;
  };
}

/** Attaches `source` as hp0 and expects a HotplugError; returns it. */
export async function failingAttach(
  rg: Rig,
  source = TAP as Parameters<typeof attachNic>[1],
): Promise<HotplugError> {
  const error = await attachNic(rg.ctx, source, { id: 'hp0' }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HotplugError);
  return error as HotplugError;
}
