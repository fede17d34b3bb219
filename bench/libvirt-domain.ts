// bench:libvirt's view of a libvirt domain: its name, the serial console we connect to (a unix
// socket chardev QEMU binds), and the guest shell on it. Shared by the launch, hot-plug and
// restore comparisons (bench/libvirt.bench.ts, bench/libvirt-restore.ts).
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SerialConsole } from '../launcher/console.js';
import { GuestShell } from '../launcher/guest-shell.js';
import type { Libvirtd } from './libvirt-daemon.js';

/** A libvirt domain of ours: its name, console and guest shell. */
export interface Domain {
  name: string;
  console: SerialConsole;
  guest: GuestShell;
}

// Where the domain `name`'s serial socket is (its XML names it; a restore binds it again).
export function consoleSocketPath(lv: Libvirtd, name: string): string {
  return join(lv.dir, `${name}.sock`);
}

// Connects to the domain's serial socket (QEMU made it before `virsh create` returned).
export async function openConsole(path: string): Promise<SerialConsole> {
  for (let i = 0; ; i++) {
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = connect({ path });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      return new SerialConsole(socket);
    } catch (error) {
      if (i > 200) throw error;
      await sleep(5);
    }
  }
}

// The domain `name` as we reach it: console connected, guest shell on it (`ready` when the
// guest is past its ready marker already, as a restored one is).
export async function reachDomain(lv: Libvirtd, name: string, ready = false): Promise<Domain> {
  const console = await openConsole(consoleSocketPath(lv, name));
  return { name, console, guest: new GuestShell(console, { ready }) };
}

// `virsh destroy` of the domain (its QEMU ends, its console closes).
export async function destroyDomain(lv: Libvirtd, d: Domain): Promise<void> {
  await lv.virsh.run(`destroy ${d.name}`);
}
