// bench:libvirt's host side: the netns with its veths, libvirt's pre-made taps joined to a
// veth by tc mirred redirects as vmlaunch's tcfilter model does, and the domain XML that
// matches vmlaunch's q35 template. Shell commands here (ip, tc) are untimed set-up.
import { execFileSync } from 'node:child_process';

/** Runs a set-up command; its stderr shows, a failure throws. */
export function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

// A netns with lo up and two veths (eth1: the boot NIC's, eth2: the hot-plugged one's).
export function makeNetns(name: string): void {
  run('ip', 'netns', 'add', name);
  run('ip', '-n', name, 'link', 'set', 'lo', 'up');
  for (const n of [1, 2]) {
    run('ip', '-n', name, 'link', 'add', `eth${n}`, 'type', 'veth', 'peer', 'name', `peer${n}`);
    run('ip', '-n', name, 'link', 'set', `eth${n}`, 'up');
    run('ip', '-n', name, 'link', 'set', `peer${n}`, 'up');
  }
}

// libvirt's side of a NIC, made ahead in `netns`: a tap joined to `veth` as tcfilter does it.
export function plumbTap(netns: string, tap: string, veth: string): void {
  const ns = ['-n', netns];
  run('ip', ...ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', 'vnet_hdr');
  run('ip', ...ns, 'link', 'set', tap, 'up');
  for (const [from, to] of [
    [tap, veth],
    [veth, tap],
  ] as const) {
    run('tc', ...ns, 'qdisc', 'add', 'dev', from, 'ingress');
    const redirect = ['action', 'mirred', 'egress', 'redirect', 'dev', to];
    run(
      'tc',
      ...ns,
      'filter',
      'add',
      'dev',
      from,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'u32',
      'match',
      'u8',
      '0',
      '0',
      ...redirect,
    );
  }
}

// Undoes plumbTap (the tap's own ingress qdisc goes with the tap).
export function unplumbTap(netns: string, tap: string, veth: string): void {
  run('tc', '-n', netns, 'qdisc', 'del', 'dev', veth, 'ingress');
  run('ip', '-n', netns, 'link', 'del', tap);
}

/** What a domain boots: the guest's kernel, initrd and command line, and its memory. */
export interface DomainGuest {
  kernel: string;
  initrd: string;
  cmdline: readonly string[];
  memoryMiB: number;
}

// The domain: what vmlaunch's q35 template gives (ACPI, four PCIe root ports, no USB, no
// balloon, no display), the harness on the first serial port as a unix socket we connect to.
export function domainXml(
  guest: DomainGuest,
  name: string,
  tap: string,
  mac: string,
  consoleSocket: string,
): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>${guest.memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${guest.kernel}</kernel>
    <initrd>${guest.initrd}</initrd>
    <cmdline>console=ttyS0 ${guest.cmdline.join(' ')}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <controller type='pci' index='0' model='pcie-root'/>
    ${"<controller type='pci' model='pcie-root-port'/>\n    ".repeat(4)}<interface type='ethernet'>
      <mac address='${mac}'/>
      <target dev='${tap}' managed='no'/>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <serial type='unix'>
      <source mode='bind' path='${consoleSocket}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
