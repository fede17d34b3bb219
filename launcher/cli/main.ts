// The vmlaunch command line: run, attach, detach, nic, exec, snapshot, restore, list, doctor, gc, demo. Errors are printed
// as sentences; --debug adds the stack trace. Each subcommand's module is loaded only when it
// runs, so a command pays for its own imports only (`vmlaunch run -- CMD` starts sooner).
import { ControlError } from '../control/errors.js';
import { ENDPOINT_SPEC_HELP } from './endpoint-spec.js';
import { explainError } from './explain.js';
import { GUEST_NET_HELP } from './guest-net-flags.js';
import { EXIT, UsageError } from './usage.js';

const HELP = `vmlaunch — launch QEMU microVMs and wire their networking

usage:
  vmlaunch demo [--template q35] [--accel kvm|tcg]
      a VM with a veth endpoint pings a peer in another netns, then hot-plugs a second NIC,
      pings through it and unplugs it (each step timed); exit 0 only if both pings worked
  vmlaunch run [--name NAME] [--kernel K --initrd I] [--append "..."] [--memory MiB]
               [--shared-memory] [--cpus N] [--template microvm|microvm-pcie|q35|pc] [--accel auto|kvm|tcg]
               [--net SPEC ...] [--scan NETNS ...] [guest network flags] [--console-log FILE]
               [--print]
               [--sandbox on|off|GROUP=allow|deny,...] [--run-as USER|UID:GID] [--no-confine]
      boots a VM (the default guest when no --kernel), console on this terminal;
      Ctrl-C shuts it down; --print shows the QEMU command line instead. It serves the
      commands below on /run/vmlaunch/NAME/control.sock (NAME default: vm-<pid>).
      QEMU runs under its seccomp sandbox (--sandbox, default on: obsolete, elevateprivileges,
      spawn, resourcecontrol all denied), in a jail of its own (a uid of its own, a cgroup,
      a read-only host tree, no capabilities; --no-confine turns it off) and, with --run-as,
      under that user (set before exec). An endpoint with addresses gives the guest a NoCloud
      seed drive with its network (docs/guest-network.md); --no-seed leaves it out.
      --shared-memory puts guest RAM in shared memory: its snapshots keep the RAM in an image
      beside the state file, and restore much faster (docs/snapshots.md)
  vmlaunch run [--drive SPEC]... [--share HOSTDIR:GUESTPATH[,ro]]... [--cwd DIR]
               [--env NAME=VALUE]... [--timeout MS] [the run flags above] -- CMD [ARG...]
      boots a VM, runs CMD in it with its arguments intact, streams its stdout and stderr
      as they come and exits with its status; the VM is stopped and removed afterwards.
      drive SPEC: PATH[,format=raw|qcow2][,ro][,ephemeral][,serial=S][,mount=GUESTPATH]
      (",," for a comma in PATH); shares are mounted at GUESTPATH with virtiofs
  vmlaunch attach NAME SPEC [--id ID] [--timeout MS]
      hot-plugs an endpoint into VM NAME (q35: one free root port per NIC)
  vmlaunch detach NAME ID [--timeout MS]
      hot-unplugs NIC ID; exit 3 if the guest has not released it by the deadline
  vmlaunch nic NAME ID [--link up|down] [--rate SPEC] [--stats] [--json]
      sets NIC ID's link down or up (the guest sees carrier go and return), its rate limits
      (SPEC: rx=10mbit,tx=5mbit[,rx-burst=32k,tx-burst=32k], tx=off removes one, off both;
      rx is what the guest receives) and shows its counters: the host side's, in the
      guest's direction, and QEMU's rx-filter
  vmlaunch exec NAME [--timeout MS] -- CMD...
      runs CMD in the guest's console shell; exits with its status
  vmlaunch snapshot NAME FILE [--then resume|pause|shutdown] [--timeout MS]
      saves VM NAME's state to FILE and its manifest to FILE.json (docs/snapshots.md)
  vmlaunch restore FILE [--net [ID=]SPEC ...] [--netns NS] [--name NAME] [--paused]
      brings a snapshot back as a VM served like run: each NIC on a fresh host side
      (same MAC), --net ID=SPEC names a NIC's new endpoint, --netns moves all of them
  vmlaunch list [--json]
      the VMs served here, with their NICs
  vmlaunch doctor [--json] [--kernel K | --no-probe]
      what this host can do (QEMU, KVM or TCG and why, tun, vhost-net, macvtap, VFIO)
  vmlaunch gc [--netns NAME ...] [--journal DIR] [--dry-run] [--json]
      removes what a killed vmlaunch left behind (links of dead owners, dangling redirects)
      and from its crash journal puts borrowed veths back and deletes the netns it created

endpoint SPECs for --net:
${ENDPOINT_SPEC_HELP.map((l) => `  ${l}`).join('\n')}

guest network flags (run, run -- CMD):
${GUEST_NET_HELP.map((l) => `  ${l}`).join('\n')}

exit codes: 0 ok, 1 failed, 2 usage, 3 detach pending, 4 no such VM (or its control
socket did not answer), exec and run -- CMD: the guest command's status (125: could not
run it; run -- CMD: 129/130/143 when stopped by SIGHUP/SIGINT/SIGTERM).
--debug on any command prints stack traces.`;

// Dispatches to a subcommand and returns the process exit code.
export async function main(args: string[]): Promise<number> {
  const debug = args.includes('--debug');
  const rest = args.filter((a) => a !== '--debug');
  const [command, ...argv] = rest;
  try {
    switch (command) {
      case 'demo':
        return await (await import('./demo.js')).demoCommand(argv);
      case 'run':
        return await (await import('./run.js')).runCommand(argv);
      case 'doctor':
        return await (await import('./doctor.js')).doctorCommand(argv);
      case 'gc':
        return await (await import('./gc.js')).gcCommand(argv);
      case 'attach':
        return await (await import('./attach.js')).attachCommand(argv);
      case 'detach':
        return await (await import('./detach.js')).detachCommand(argv);
      case 'nic':
        return await (await import('./nic.js')).nicCommand(argv);
      case 'exec':
        return await (await import('./exec.js')).execCommand(argv);
      case 'list':
        return await (await import('./list.js')).listCommand(argv);
      case 'snapshot':
        return await (await import('./snapshot.js')).snapshotCommand(argv);
      case 'restore':
        return await (await import('./restore.js')).restoreCommand(argv);
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
    if (error instanceof UsageError) return EXIT.usage;
    if (error instanceof ControlError && command !== 'run') return EXIT.noVm;
    const guestCommand = command === 'exec' || (command === 'run' && argv.includes('--'));
    return guestCommand ? EXIT.execFailed : EXIT.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
