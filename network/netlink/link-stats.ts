// Decoding IFLA_STATS64 (struct rtnl_link_stats64, include/uapi/linux/if_link.h): the first ten
// u64 counters, the ones every driver keeps.
/** A link's counters, from the link's own point of view (rx: what it received). */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  multicast: number;
  collisions: number;
}

const FIELDS = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxErrors',
  'txErrors',
  'rxDropped',
  'txDropped',
  'multicast',
  'collisions',
] as const;

// Counters past 2^53 lose precision as numbers; no link carries that much between two reads.
export function decodeStats64(data: Buffer): LinkStats {
  const stats = {} as LinkStats;
  FIELDS.forEach((field, i) => {
    stats[field] = data.length >= (i + 1) * 8 ? Number(data.readBigUInt64LE(i * 8)) : 0;
  });
  return stats;
}
