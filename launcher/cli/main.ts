// The vmlaunch command line: run, doctor, demo. Errors are printed as sentences; --debug adds
// the stack trace.
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { ENDPOINT_SPEC_HELP } from './endpoint-spec.js';
import { explainError } from './explain.js';
import { runCommand } from './run.js';

const HELP = `vmlaunch — launch QEMU microVMs and wire their networking

usage:
  vmlaunch demo [--template q35] [--accel kvm|tcg]
      a VM with a veth endpoint pings a peer in another netns; exit 0 only if it worked
  vmlaunch run [--kernel K --initrd I] [--append "..."] [--memory MiB] [--cpus N]
               [--template microvm|microvm-pcie|q35|pc] [--accel auto|kvm|tcg]
               [--net SPEC ...] [--console-log FILE] [--print]
      boots a VM (the default guest when no --kernel), console on this terminal;
      Ctrl-C shuts it down; --print shows the QEMU command line instead
  vmlaunch doctor [--json] [--kernel K | --no-probe]
      what this host can do (QEMU, KVM or TCG and why, tun, vhost-net, macvtap, VFIO)

endpoint SPECs for --net:
${ENDPOINT_SPEC_HELP.map((l) => `  ${l}`).join('\n')}

--debug on any command prints stack traces.`;

// Dispatches to a subcommand and returns the process exit code.
export async function main(args: string[]): Promise<number> {
  const debug = args.includes('--debug');
  const rest = args.filter((a) => a !== '--debug');
  const [command, ...argv] = rest;
  try {
    switch (command) {
      case 'demo':
        return await demoCommand(argv);
      case 'run':
        return await runCommand(argv);
      case 'doctor':
        return await doctorCommand(argv);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`vmlaunch: unknown command "${command}"\n\n${HELP}\n`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`vmlaunch: ${explainError(error, debug)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
