// The kernel's rtnetlink numbers, checked against the uapi headers (linux-libc-dev 6.x:
// include/uapi/linux/{netlink,rtnetlink,if_link,if_addr,if,veth,pkt_sched,pkt_cls}.h and
// tc_act/tc_mirred.h). Values are ABI: they never change once released.

/** Message types carried by the netlink core (include/uapi/linux/netlink.h). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** nlmsghdr flags (netlink.h). */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
/** GET modifiers: NLM_F_ROOT | NLM_F_MATCH. */
export const NLM_F_DUMP = 0x300;
/** NEW modifiers. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** ACK modifiers: the request was cut to its header (NETLINK_CAP_ACK); TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ack TLVs after an NLMSG_ERROR (netlink.h, enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** nlattr type flags (netlink.h). */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Fixed sizes: nlmsghdr, nlattr header, and the family headers (sizeof in the uapi). */
export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;
export const TCMSG_LEN = 20;

/** rtnetlink message types (rtnetlink.h). */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

/** Address families (linux/socket.h). */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Link attributes (if_link.h, enum IFLA_*). */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
/** IFLA_TXQLEN: the transmit queue length (txqueuelen). */
export const IFLA_TXQLEN = 13;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
/** IFLA_STATS64: struct rtnl_link_stats64, the link's counters as u64s. */
export const IFLA_STATS64 = 23;
export const IFLA_NET_NS_FD = 28;
export const IFLA_LINK_NETNSID = 37;

/** IFLA_LINKINFO nested attributes (if_link.h). */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

/** veth's IFLA_INFO_DATA: the peer, an ifinfomsg followed by link attributes (veth.h). */
export const VETH_INFO_PEER = 1;

/** macvlan/macvtap IFLA_INFO_DATA and its modes (if_link.h). */
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;
export const MACVLAN_MODE_PASSTHRU = 8;

/** bridge IFLA_INFO_DATA (if_link.h, enum IFLA_BR_*): u8 0/1. */
export const IFLA_BR_MCAST_SNOOPING = 23;

/** Interface flags (include/uapi/linux/if.h). */
export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

/** RFC 2863 operational states carried in IFLA_OPERSTATE (if.h, IF_OPER_*), by value. */
export const OPERSTATES = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
] as const;

/** Address attributes and flags (if_addr.h). */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;

/** Route attributes, tables, protocols, scopes, types (rtnetlink.h). */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_TABLE = 15;
/** RTA_METRICS nested attribute: the path MTU (enum RTAX_*). */
export const RTAX_MTU = 2;
export const RT_TABLE_MAIN = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
/** On delete: match a route of any scope (what `ip route del` sends). */
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;
/** rtm_flags of a cached (cloned) route, not a configured one. */
export const RTM_F_CLONED = 0x200;

/** Traffic-control attributes (rtnetlink.h, enum TCA_*). */
export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_CHAIN = 11;

/** tc handles (pkt_sched.h): the ingress qdisc sits at parent ffff:fff1 with handle ffff:0. */
export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_MAJ_MASK = 0xffff0000;
export const TC_H_MIN_MASK = 0x0000ffff;
export const INGRESS_HANDLE = 0xffff0000;

/** ETH_P_ALL (if_ether.h), carried big-endian in tcm_info's low 16 bits as `protocol all`. */
export const ETH_P_ALL = 0x0003;

/** u32 classifier options (pkt_cls.h, enum TCA_U32_*) and its selector flag. */
export const TCA_U32_CLASSID = 1;
export const TCA_U32_SEL = 5;
export const TCA_U32_ACT = 7;
export const TCA_U32_FLAGS = 11;
export const TC_U32_TERMINAL = 1;
/** sizeof(struct tc_u32_sel) without keys, and of one struct tc_u32_key (pkt_cls.h). */
export const TC_U32_SEL_LEN = 16;
export const TC_U32_KEY_LEN = 16;

/** Action attributes (pkt_cls.h, enum TCA_ACT_*). */
export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_ACT_INDEX = 3;

/** mirred (tc_act/tc_mirred.h): TCA_MIRRED_PARMS holds struct tc_mirred (28 bytes). */
export const TCA_MIRRED_TM = 1;
export const TCA_MIRRED_PARMS = 2;
export const TC_MIRRED_LEN = 28;
export const TCA_EGRESS_REDIR = 1;
export const TCA_EGRESS_MIRROR = 2;
export const TCA_INGRESS_REDIR = 3;
export const TCA_INGRESS_MIRROR = 4;

/** Generic action verdicts (pkt_cls.h): a redirect steals the packet. */
export const TC_ACT_PIPE = 3;
export const TC_ACT_STOLEN = 4;

/** tbf qdisc options (pkt_sched.h, enum TCA_TBF_*); TCA_TBF_PARMS holds struct tc_tbf_qopt. */
export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RATE64 = 4;
export const TCA_TBF_BURST = 6;
export const TC_TBF_QOPT_LEN = 36;
/** struct tc_ratespec linklayer: ethernet (the kernel then needs no rate table). */
export const TC_LINKLAYER_ETHERNET = 1;
/** Kernel scheduler ticks are 64 ns (PSCHED_SHIFT 6 in include/net/pkt_sched.h). */
export const PSCHED_TICK_NS = 64;
