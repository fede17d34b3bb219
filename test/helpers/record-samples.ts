// Sample records of every kind, shared by the unit tests of their parsers and the fuzz
// suites that mutate them.
import type { Endpoint } from '../../network/endpoints/types.js';
import type { BorrowedLinkEntry, NetnsEntry } from '../../network/journal/entry.js';

export const everyEndpointKind: Endpoint[] = [
  {
    kind: 'veth',
    name: 'eth0',
    interworking: 'tcfilter',
    mac: '52:54:00:12:34:56',
    mtu: 1450,
    queues: 2,
    addresses: ['10.1.0.2/24', 'fd00::2/64'],
    routes: [
      { dst: 'default', gateway: '10.1.0.1' },
      { dst: '10.2.0.0/16', mtu: 1400 },
    ],
  },
  { kind: 'veth', name: 'eth1', interworking: 'macvtap' },
  { kind: 'veth', name: 'eth2', interworking: 'bridged' },
  { kind: 'veth', name: 'eth3', interworking: 'none' },
  { kind: 'tap', name: 'tap0', create: true, queues: 4 },
  { kind: 'macvtap', name: 'mvt0', mac: '52:54:00:00:00:01' },
  { kind: 'vhost-user', socketPath: '/run/vml/vu0.sock', mode: 'client', queues: 2 },
  { kind: 'physical', pciAddress: '0000:01:00.0', driver: 'ixgbe', vendorDevice: '8086:10fb' },
];

export const sampleOwner = {
  pid: 4242,
  start: 746412,
  boot: 'e96241cd-f277-417a-a9bc-0967cde5989c',
};

export const sampleLinkEntry: BorrowedLinkEntry = {
  version: 1,
  kind: 'borrowed-link',
  owner: sampleOwner,
  at: 1_700_000_000_000,
  nicId: 'net0',
  vm: 'vm-1',
  netns: { ref: 'vml-cni', ino: 4026532999 },
  link: {
    index: 2,
    name: 'eth0',
    kind: 'veth',
    mac: '9a:e6:0f:63:50:b1',
    mtu: 1500,
    txqlen: 1000,
    up: true,
    addresses: [
      {
        family: 4,
        address: '10.9.0.2',
        prefixLen: 24,
        scope: 'global',
        flags: 0x80,
        label: 'eth0',
      },
      {
        family: 4,
        address: '10.9.0.3',
        prefixLen: 24,
        scope: 'global',
        flags: 0x81,
        label: 'eth0',
        broadcast: '10.9.0.255',
      },
      { family: 6, address: 'fd00:9::2', prefixLen: 64, scope: 'global', flags: 0x82 },
    ],
    routes: [
      { family: 4, dst: 'default', gateway: '10.9.0.1', protocol: 3, scope: 'global' },
      {
        family: 4,
        dst: '10.10.0.0/16',
        gateway: '10.9.0.1',
        protocol: 3,
        scope: 'global',
        mtu: 1400,
        metric: 50,
      },
    ],
    ingress: { present: true, prefs: [1, 49152] },
  },
  creates: [
    { name: 'vmlb820d5d8b', kind: 'bridge' },
    { name: 'vmlt820d5d8b', kind: 'tun' },
  ],
};

export const sampleNetnsEntry: NetnsEntry = {
  version: 1,
  kind: 'netns',
  owner: sampleOwner,
  at: 1,
  name: 'vml-demo-1',
  ino: 4026533001,
};
