// The life of a VM served from the command line (`vmlaunch run`, `vmlaunch restore`): the
// control socket claimed first, the VM started, its console on this terminal, Ctrl-C shuts it
// down by the ladder, and the runtime dir goes away however the run ends.
import type { ControlServer } from '../control/server.js';
import type { Vm } from '../vm.js';
import { claimControl } from './run-control.js';
import type { StatusLine } from './status-line.js';
import type { TerminalOutput } from './terminal-output.js';

/** Where a served VM's console and messages go. */
export interface ServeOutput {
  stdout: TerminalOutput;
  stderr: TerminalOutput;
  status: StatusLine;
}

// Starts the VM with `start`, serves it as `name` until it ends; returns the exit code.
export async function serveVm(
  name: string,
  start: () => Promise<Vm>,
  { stdout, stderr, status }: ServeOutput,
): Promise<number> {
  const claim = await claimControl(name);
  const say = (line: string): void => {
    status.stop();
    stderr.write(`vmlaunch: ${line}\n`);
  };
  if (claim.runtime.reclaimed) say(`removed a stale control socket: ${claim.runtime.reclaimed}`);
  let vm: Vm | undefined;
  let server: ControlServer | undefined;
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    say('shutting down (powerdown, then quit, SIGTERM, SIGKILL)...');
    if (vm) void vm.shutdown();
  };
  // Installed before the launch, so a Ctrl-C while booting still cleans up the runtime dir.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let unsubscribe = (): void => undefined;
  const forward = (data: Buffer): void =>
    void vm?.console.write(data.toString()).catch(() => undefined);
  try {
    vm = await status.run('starting the VM', start);
    if (interrupted) void vm.shutdown();
    server = await claim.serve(vm, say);
    say(
      `VM "${name}" running, QEMU pid ${vm.pid} (${vm.accel.accel}: ${vm.accel.reason}); Ctrl-C shuts it down`,
    );
    say(
      `control: vmlaunch attach ${name} SPEC | detach ${name} ID | exec ${name} -- CMD (socket ${server.socket})`,
    );
    const running = vm;
    unsubscribe = running.console.subscribe((chunk) => void stdout.write(chunk));
    stdout.write(running.console.since(0));
    process.stdin.on('data', forward);
    const exit = await running.exited;
    say(
      `VM ended (${exit.rung ? `shutdown by ${exit.rung}` : exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`})`,
    );
    return exit.unexpected && exit.code !== 0 ? 1 : 0;
  } finally {
    unsubscribe();
    process.stdin.off('data', forward);
    process.stdin.pause();
    if (vm) await vm.shutdown();
    const left = server ? await server.close() : claim.abandon();
    for (const item of left) say(`left behind: ${item}`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
