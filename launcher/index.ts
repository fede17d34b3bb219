// The launcher's public face: QEMU options, devices, command builder, QMP, VM lifecycle.
export {};
