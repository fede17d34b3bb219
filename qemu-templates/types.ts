// The shape of a machine preset: plain data describing one QEMU machine type as we use it.
// No imports from launcher/ (imports flow launcher -> qemu-templates).

/** The presets we ship. */
export type TemplateName = 'microvm' | 'microvm-pcie' | 'q35' | 'pc';

/** A `-machine` option value; booleans become on/off when formatted. */
export type MachineOptionValue = string | number | boolean;

/** Whether devices can be hot-plugged, whether that was verified with a Linux guest, and why. */
export interface HotplugSupport {
  supported: boolean;
  /** True only when a Linux guest was seen to pick up a hot-plugged NIC on this machine type. */
  verified: boolean;
  why: string;
}

/** One machine preset. */
export interface MachineTemplate {
  name: TemplateName;
  /** QEMU machine type (the `-machine` positional). */
  machineType: string;
  /** `-machine` options, in order. */
  machineOptions: Readonly<Record<string, MachineOptionValue>>;
  /** Default transport for virtio devices: virtio-mmio or PCI(e). */
  transport: 'mmio' | 'pci';
  /** The root bus PCI devices and root ports go on; undefined without PCI. */
  rootBus: string | undefined;
  /** pcie-root-ports reserved at start for hot plug (0 when the machine has no hot plug). */
  hotplugRootPorts: number;
  hotplug: HotplugSupport;
  /** Arguments every launch of this machine needs, besides -machine. */
  requiredArgs: readonly string[];
  /** Serial console: the guest device name and how QEMU provides it. */
  serial: { guestDevice: string; provider: string };
  /** Kernel command-line bits this machine needs (the user's come after). */
  kernelCmdline: readonly string[];
  /** What the guest kernel needs to find its devices on this machine type. */
  guestNeeds: string;
  /** PXE option ROM policy for PCI NICs: we boot -kernel directly, so none by default. */
  nicRomfile: 'none' | 'default';
  /** How a Linux kernel boots on this machine type under TCG: reliably; needs the host TSC rate on
   *  the kernel command line (the launcher adds `tsc_early_khz=<kHz> tsc=reliable`); hangs
   *  often; or not measured. */
  tcg: { boot: 'reliable' | 'needs-tsc-hint' | 'hangs-often' | 'unmeasured'; note: string };
}

/** What a user may change in a preset; anything else is refused. */
export interface TemplateOverrides {
  /** Extra or changed `-machine` options (merged over the preset's). */
  machineOptions?: Record<string, MachineOptionValue>;
  /** Number of pcie-root-ports reserved for hot plug (q35 only). */
  hotplugRootPorts?: number;
  /** Appended after the preset's kernel command-line bits. */
  kernelCmdline?: readonly string[];
  nicRomfile?: 'none' | 'default';
}
