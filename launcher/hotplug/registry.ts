// The VM's hot-plug bookkeeping: which device ids are taken (NICs and drives share one id
// space), which root port each device sits on, and per device the cleanup still owed once
// QEMU has let go of it (after DEVICE_DELETED, or when QEMU exits). A device whose unplug is
// pending keeps its id and its slot until then.
import type { UndoStack } from '../../core/index.js';
import { NoFreeSlotError, HotplugStateError } from './errors.js';
import type { DetachResult, Hotplugged } from './types.js';

/** First fdset id of hot-plugged drives (cold-plugged ones count from 0). */
export const HOTPLUG_FIRST_FDSET = 1000;

/** Where a hot-plugged device is in its life. */
export type NicState = 'attached' | 'detaching' | 'pending';

/** One hot-plugged device (a NIC or a drive) and what removing it still requires. */
export interface NicRecord {
  nic: Hotplugged;
  /** QEMU id of the guest-facing device (what device_del and DEVICE_DELETED name). */
  deviceId: string;
  state: NicState;
  /** netdev_del / blockdev-del, chardev-remove, remove-fd, host-side detach, slot release:
   *  run once QEMU let go. */
  cleanup: UndoStack;
  /** The detach in progress (a second detach joins it). */
  detaching?: Promise<DetachResult>;
  /** Set while pending: resolves once the late DEVICE_DELETED (or VM exit) completed removal. */
  completion?: Promise<void>;
}

/** Hot-plug state of one VM. */
export class HotplugRegistry {
  private readonly slots: Map<string, string | undefined>;
  private readonly ids = new Set<string>();
  private readonly records = new Map<string, NicRecord>();
  private readonly finishing = new Map<NicRecord, Promise<Error[]>>();
  private counter = 0;
  /** Hot-plugged drives' fdsets are numbered from here (cold-plugged ones count from 0). */
  private fdsetCounter = HOTPLUG_FIRST_FDSET;
  private ended = false;
  /** Cleanup failures of NICs removed asynchronously (late DEVICE_DELETED, VM exit). */
  readonly leftovers: Error[] = [];

  /** `buses`: the hot-plug root ports; `reservedIds`: NIC ids already used by cold plug. */
  constructor(
    buses: readonly string[],
    private readonly reservedIds: ReadonlySet<string> = new Set(),
  ) {
    this.slots = new Map(buses.map((bus) => [bus, undefined]));
  }

  /** True once the VM has exited: nothing can be attached any more. */
  get vmEnded(): boolean {
    return this.ended;
  }

  // Takes `wanted` (or the next free hpN) for one NIC; released by the returned function.
  claimId(wanted: string | undefined): string {
    let id = wanted;
    if (id === undefined) {
      do id = `hp${this.counter++}`;
      while (this.ids.has(id) || this.reservedIds.has(id));
    }
    if (this.ids.has(id) || this.reservedIds.has(id)) {
      throw new HotplugStateError(
        `device id ${id} is already in use in this VM`,
        'HOTPLUG_ID_IN_USE',
      );
    }
    this.ids.add(id);
    return id;
  }

  // A fresh fdset id for a hot-plugged drive's fd (never reused within this VM).
  nextFdset(): number {
    return this.fdsetCounter++;
  }

  releaseId(id: string): void {
    this.ids.delete(id);
  }

  // The first free root port, now held by `nicId`.
  /** @throws NoFreeSlotError when every root port is taken. */
  reserveSlot(nicId: string, machine: string): string {
    for (const [bus, holder] of this.slots) {
      if (holder === undefined) {
        this.slots.set(bus, nicId);
        return bus;
      }
    }
    const occupied: Record<string, string> = {};
    for (const [bus, holder] of this.slots) occupied[bus] = holder ?? '';
    throw new NoFreeSlotError(occupied, machine);
  }

  releaseSlot(bus: string): void {
    if (this.slots.has(bus)) this.slots.set(bus, undefined);
  }

  /** Which NIC holds each root port (undefined: free). */
  get occupancy(): ReadonlyMap<string, string | undefined> {
    return this.slots;
  }

  add(record: NicRecord): void {
    this.records.set(record.nic.id, record);
  }

  // A device already in QEMU on root port `bus` (restored from a snapshot): its port is held
  // until its cleanup releases it, then hot plug may use it again.
  adopt(record: NicRecord, bus: string): void {
    this.slots.set(bus, record.nic.id);
    this.add(record);
  }

  get(id: string): NicRecord | undefined {
    return this.records.get(id);
  }

  /** The hot-plugged devices (NICs and drives), attached or pending. */
  list(): NicRecord[] {
    return [...this.records.values()];
  }

  // Runs a record's cleanup once, however many callers ask (detach, late event, VM exit).
  finish(record: NicRecord): Promise<Error[]> {
    let running = this.finishing.get(record);
    if (running === undefined) {
      running = record.cleanup.unwind().then((errors) => {
        if (this.records.get(record.nic.id) === record) this.records.delete(record.nic.id);
        this.finishing.delete(record);
        return errors;
      });
      this.finishing.set(record, running);
    }
    return running;
  }

  // QEMU is gone: every NIC's host side is cleaned up (QMP steps skip themselves).
  /** @throws an Error listing what could not be cleaned up. */
  async vmExited(): Promise<void> {
    this.ended = true;
    const errors = (await Promise.all(this.list().map((r) => this.finish(r)))).flat();
    this.leftovers.push(...errors);
    if (errors.length > 0) {
      throw new AggregateError(
        errors,
        `hot-plugged NIC cleanup: ${errors.map((e) => e.message).join('; ')}`,
      );
    }
  }
}
