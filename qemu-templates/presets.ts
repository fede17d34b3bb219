// The four machine presets as frozen data.
//
// Sources: QEMU docs/system/i386/microvm.rst (microvm: no PCI, "Hotplug of any kind" not
// supported, up to eight virtio-mmio devices); hw/i386/microvm.c (with ACPI on, the default,
// virtio-mmio devices are described in the DSDT; only with acpi=off does QEMU append
// `virtio_mmio.device=512@0x...:IRQ` to the kernel command line, auto-kernel-cmdline=on);
// scripts/guest/FINDINGS.md for the boot and hot-plug experiments behind `tcg` and `hotplug`.
import { deepFreeze } from './deep-freeze.js';
import type { MachineTemplate, TemplateName } from './types.js';

/** Every launch: no default devices (NICs, VGA, floppy...), no host config files, no window. */
const BASE_ARGS = ['-nodefaults', '-no-user-config', '-display', 'none'] as const;

/** The ISA serial port is COM1: ttyS0 in the guest. */
const ISA_SERIAL = { guestDevice: 'ttyS0', provider: 'ISA serial port (-serial chardev:ID)' };

/** The default guest's kernel (Debian cloud) has virtio as modules, loaded in this order. */
const VIRTIO_MODULES = 'virtio_ring, virtio, then the transport and virtio_net';

const TCG_MICROVM_NOTE =
  'Under TCG microvm has no HPET and no ACPI PM timer (kvmclock needs KVM), so when the PIT-based ' +
  'TSC calibration is rejected, as it often is, the kernel spins in calibrate_delay waiting for ' +
  'ticks that never come. With tsc_early_khz=<host TSC kHz> tsc=reliable on the command line it ' +
  'boots reliably; the launcher adds both when the host TSC has a known constant rate.';

export const PRESETS: Readonly<Record<TemplateName, MachineTemplate>> = deepFreeze({
  microvm: {
    name: 'microvm',
    machineType: 'microvm',
    // No option ROMs: we boot -kernel directly. isa-serial stays on (the console).
    machineOptions: { 'x-option-roms': false, 'isa-serial': true },
    transport: 'mmio',
    rootBus: undefined,
    hotplugRootPorts: 0,
    hotplug: {
      supported: false,
      verified: true,
      why: 'virtio-mmio has no hot-plug; QEMU documents microvm as supporting no hotplug of any kind',
    },
    requiredArgs: BASE_ARGS,
    serial: ISA_SERIAL,
    kernelCmdline: ['console=ttyS0'],
    guestNeeds:
      `CONFIG_VIRTIO_MMIO (virtio_mmio module: ${VIRTIO_MODULES}); devices are found through ACPI ` +
      '(acpi=on, the default); with acpi=off QEMU appends virtio_mmio.device=... itself, which ' +
      'needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES. At most 8 virtio-mmio devices.',
    nicRomfile: 'none',
    tcg: { boot: 'needs-tsc-hint', note: TCG_MICROVM_NOTE },
  },
  'microvm-pcie': {
    name: 'microvm-pcie',
    machineType: 'microvm',
    machineOptions: { 'x-option-roms': false, 'isa-serial': true, pcie: true },
    transport: 'pci',
    rootBus: 'pcie.0',
    hotplugRootPorts: 0,
    // Cold-plug only. QEMU accepts pcie-root-ports on microvm's GPEX bus, but nobody has seen a
    // Linux guest pick up a device hot-plugged there: the check has not been made (it needs a
    // guest that boots on microvm with pcie=on and a host with usable KVM). Until it is, we promise
    // nothing we have not seen work.
    hotplug: {
      supported: false,
      verified: false,
      why: 'not verified: no Linux guest has been seen to detect a hot-plugged device on microvm,pcie=on',
    },
    requiredArgs: BASE_ARGS,
    serial: ISA_SERIAL,
    kernelCmdline: ['console=ttyS0'],
    guestNeeds: `ACPI and PCI (the GPEX host bridge is described in ACPI); virtio_pci (${VIRTIO_MODULES})`,
    nicRomfile: 'none',
    tcg: { boot: 'needs-tsc-hint', note: TCG_MICROVM_NOTE },
  },
  q35: {
    name: 'q35',
    machineType: 'q35',
    machineOptions: {},
    transport: 'pci',
    rootBus: 'pcie.0',
    hotplugRootPorts: 4,
    // Hot-plug mode: ACPI PCI hot-plug on the root ports (ICH9-LPC.acpi-pci-hotplug-with-bridge-
    // support=on), which is QEMU's own q35 default since 6.1, so no -global is added. With ACPI a
    // Linux guest releases an unplugged NIC within a fraction of a second; with native PCIe
    // (=off) pciehp first waits out its 5 s attention-button delay (numbers in
    // scripts/guest/FINDINGS.md). Native is slower and no more reliable, so ACPI stays the
    // default; `-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off` selects native where
    // a guest lacks ACPI hot-plug (acpiphp).
    hotplug: {
      supported: true,
      verified: true,
      why: 'ACPI PCI hot-plug on pcie-root-ports (q35 default); a Linux guest was seen to attach, use and release hot-plugged virtio-net-pci NICs',
    },
    requiredArgs: BASE_ARGS,
    serial: ISA_SERIAL,
    kernelCmdline: ['console=ttyS0'],
    guestNeeds: `virtio_pci (${VIRTIO_MODULES}); ACPI PCI hot-plug (acpiphp) for hot-plug, or pciehp with native PCIe hot-plug (unplug then waits ~5 s in the guest)`,
    nicRomfile: 'none',
    tcg: {
      boot: 'reliable',
      note: 'boots without clock hints (q35 has an HPET and an ACPI PM timer to calibrate against)',
    },
  },
  pc: {
    name: 'pc',
    machineType: 'pc',
    machineOptions: {},
    transport: 'pci',
    rootBus: 'pci.0',
    hotplugRootPorts: 0,
    // QEMU offers ACPI PCI hot-plug on i440fx's pci.0, but vmlaunch reserves no slots there (no
    // root ports on pc) and no guest was checked against it: not offered.
    hotplug: {
      supported: false,
      verified: false,
      why: 'vmlaunch reserves no hot-plug slots on pc (ACPI hot-plug on pci.0 is unverified); use q35',
    },
    requiredArgs: BASE_ARGS,
    serial: ISA_SERIAL,
    kernelCmdline: ['console=ttyS0'],
    guestNeeds: `virtio_pci (${VIRTIO_MODULES}); acpiphp for hot-plug`,
    nicRomfile: 'none',
    tcg: { boot: 'unmeasured', note: 'not measured' },
  },
});
