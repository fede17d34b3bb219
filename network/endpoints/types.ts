// Endpoints: plain, JSON-serialisable descriptions of where a guest NIC's traffic goes. They
// carry no fds and no handles; attaching one (network/endpoints/attach) yields a HostNic.

/** How a veth's traffic reaches the guest (kata's interworking models). */
export type Interworking = 'tcfilter' | 'macvtap' | 'bridged' | 'none';

/** The models, for validation and help texts. */
export const INTERWORKING_MODELS: readonly Interworking[] = [
  'tcfilter',
  'macvtap',
  'bridged',
  'none',
];

/** An IP route captured from or restored into a netns. */
export interface EndpointRoute {
  /** 'default' or a prefix like 10.0.0.0/24. */
  dst: string;
  gateway?: string;
  /** The route's MTU metric, when set. */
  mtu?: number;
}

/** Fields every NIC-backing endpoint may carry. */
interface NicFields {
  /** Guest MAC; default: the veth's or tap's own MAC, or a generated locally administered one. */
  mac?: string;
  mtu?: number;
  /** Queue pairs (multi-queue virtio-net); default 1. */
  queues?: number;
}

/** A veth inside the netns (typically made by CNI), joined to the guest by `interworking`. */
export interface VethEndpoint extends NicFields {
  kind: 'veth';
  /** The veth's name in its netns. */
  name: string;
  interworking: Interworking;
  /** Addresses and routes captured by scan (CIDR strings), restored where a model moves them. */
  addresses?: string[];
  routes?: EndpointRoute[];
}

/** A tap in the netns: an existing one, or one vmlaunch creates (`create: true`). */
export interface TapEndpoint extends NicFields {
  kind: 'tap';
  name: string;
  create?: boolean;
}

/** Fields of a link stacked on a parent (what the CNI macvlan and ipvlan plugins make). */
interface StackedLinkFields extends NicFields {
  /** The link's name in its netns. */
  name: string;
  /** Addresses and routes captured by scan (CIDR strings); the link keeps them (tcfilter). */
  addresses?: string[];
  routes?: EndpointRoute[];
}

/** A macvlan in the netns, joined to the guest by the tcfilter model (as kata does). */
export interface MacvlanEndpoint extends StackedLinkFields {
  kind: 'macvlan';
}

/** An ipvlan in the netns, joined to the guest by the tcfilter model (as kata does). */
export interface IpvlanEndpoint extends StackedLinkFields {
  kind: 'ipvlan';
}

/** The endpoints the tcfilter model joins to the guest: a link that keeps its addresses. */
export type TcfilterEndpoint = VethEndpoint | MacvlanEndpoint | IpvlanEndpoint;

/** An existing macvtap link in the netns. */
export interface MacvtapEndpoint extends NicFields {
  kind: 'macvtap';
  name: string;
}

/** A vhost-user backend's unix socket (e.g. a DPDK or OVS port). */
export interface VhostUserEndpoint {
  kind: 'vhost-user';
  /** Absolute path, shorter than 108 bytes (sun_path). */
  socketPath: string;
  /** 'client': QEMU connects to the backend's socket; 'server': QEMU listens. */
  mode: 'client' | 'server';
  mac?: string;
  mtu?: number;
  queues?: number;
}

/** A physical PCI NIC passed through with VFIO. */
export interface PhysicalEndpoint {
  kind: 'physical';
  /** Full PCI address, e.g. 0000:01:00.0. */
  pciAddress: string;
  /** The host driver bound before attach (filled in by scan or attach). */
  driver?: string;
  /** vendor:device as hex, e.g. 8086:10fb (filled in from sysfs). */
  vendorDevice?: string;
}

/** Every endpoint kind. */
export type Endpoint =
  | VethEndpoint
  | MacvlanEndpoint
  | IpvlanEndpoint
  | TapEndpoint
  | MacvtapEndpoint
  | VhostUserEndpoint
  | PhysicalEndpoint;

/** The kind names, for validation and persistence. */
export const ENDPOINT_KINDS: readonly Endpoint['kind'][] = [
  'veth',
  'macvlan',
  'ipvlan',
  'tap',
  'macvtap',
  'vhost-user',
  'physical',
];
