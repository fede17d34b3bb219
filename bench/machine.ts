// The machine a suite run measured on, for BENCHMARKS.md: CPU model and count, kernel, QEMU and
// libvirt versions, KVM's presence, and the load average (others' work skews every number).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';

/** What BENCHMARKS.md says about the host. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  kernel: string;
  qemu: string;
  libvirt: string;
  node: string;
  kvm: boolean;
  /** 1-minute load average when the run started. */
  load: number;
}

// First line of a command's output, or a note that it could not run.
function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return `(${cmd} not available)`;
  }
}

// Reads the host's description now.
export function describeMachine(): MachineInfo {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return {
    cpu: model?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    qemu: firstLine('qemu-system-x86_64', ['--version']),
    libvirt: firstLine('libvirtd', ['--version']),
    node: process.version,
    kvm: existsSync('/dev/kvm'),
    load: loadavg()[0]!,
  };
}

// One line for a section of BENCHMARKS.md.
export function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, ${m.qemu}, node ${m.node}, /dev/kvm ${m.kvm ? 'present' : 'absent'}`;
}
