// `vmlaunch nic NAME ID [--link up|down] [--rate SPEC] [--stats] [--json]`: live control of one
// NIC of a VM served by `vmlaunch run` — its link state (QMP set_link), its rate limits (host-side
// token buckets) and its counters (host side, in the guest's direction, plus QEMU's rx-filter).
import { controlCalls } from '../control/client.js';
import type { NicReply } from '../control/protocol.js';
import type { NicRate, NicRateChange } from '../../network/endpoints/rate-limit.js';
import { parseRateChange } from './rate-spec.js';
import { EXIT, parseCommandLine, stringOption, UsageError } from './usage.js';

/** Usage line of nic. */
export const NIC_USAGE =
  'vmlaunch nic <name> <ID> [--link up|down] [--rate rx=10mbit,tx=5mbit|rx=off|off] [--stats] [--json]';

/** What one `vmlaunch nic` asks for. */
export interface NicArgs {
  name: string;
  nicId: string;
  link?: 'up' | 'down';
  rate?: NicRateChange;
  stats: boolean;
  json: boolean;
}

// The command line -> what to ask; at least one of --link, --rate and --stats.
/** @throws UsageError for a bad --link or --rate value, nothing asked, or wrong arguments. */
export function parseNicArgs(argv: string[]): NicArgs {
  const line = parseCommandLine(
    argv,
    {
      link: { type: 'string' },
      rate: { type: 'string' },
      stats: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    NIC_USAGE,
    { min: 2, max: 2 },
  );
  const [name = '', nicId = ''] = line.positionals;
  const link = stringOption(line, 'link');
  if (link !== undefined && link !== 'up' && link !== 'down')
    throw new UsageError(`--link expects up or down, got "${link}"`, NIC_USAGE);
  const rateText = stringOption(line, 'rate');
  let rate: NicRateChange | undefined;
  try {
    rate = rateText === undefined ? undefined : parseRateChange(rateText);
  } catch (error) {
    throw new UsageError((error as Error).message, NIC_USAGE);
  }
  const stats = line.values.stats === true;
  if (link === undefined && rate === undefined && !stats)
    throw new UsageError('nothing to do: give --link, --rate or --stats', NIC_USAGE);
  return {
    name,
    nicId,
    ...(link ? { link } : {}),
    ...(rate ? { rate } : {}),
    stats,
    json: line.values.json === true,
  };
}

// One direction's limit for a person: bits per second as tc writes them, burst in bytes.
function describeLimit(limit: NicRate['rx']): string {
  if (limit === undefined) return 'none';
  const bits = limit.rate * 8;
  const [value, unit] =
    bits >= 1e9 ? [bits / 1e9, 'Gbit'] : bits >= 1e6 ? [bits / 1e6, 'Mbit'] : [bits / 1e3, 'Kbit'];
  return `${Number(value.toFixed(3))}${unit}/s (${limit.rate} B/s), burst ${limit.burst ?? '?'} B`;
}

// The reply as lines for a person.
export function formatNicReply(reply: NicReply): string {
  const lines: string[] = [];
  if (reply.link) lines.push(`${reply.nicId}: link ${reply.link}`);
  if (reply.rate) {
    lines.push(
      `${reply.nicId}: rate limits now rx ${describeLimit(reply.rate.rx)}, tx ${describeLimit(reply.rate.tx)}`,
    );
  }
  const host = reply.stats?.host;
  if (host) {
    lines.push(
      `${reply.nicId} (host link ${host.ifname}), in the guest's direction:`,
      `  rx: ${host.rxBytes} bytes, ${host.rxPackets} packets, ${host.rxDropped} dropped, ${host.rxErrors} errors`,
      `  tx: ${host.txBytes} bytes, ${host.txPackets} packets, ${host.txDropped} dropped, ${host.txErrors} errors`,
    );
  } else if (reply.stats) {
    lines.push(`${reply.nicId}: no host link held by vmlaunch (its backend keeps the counters)`);
  }
  if (reply.stats) lines.push(`  rx-filter: ${JSON.stringify(reply.stats.rxFilter)}`);
  return lines.map((l) => `${l}\n`).join('');
}

// Runs nic; returns the exit code.
export async function nicCommand(argv: string[]): Promise<number> {
  const args = parseNicArgs(argv);
  const reply = await controlCalls.nic(args.name, args.nicId, {
    ...(args.link ? { link: args.link } : {}),
    ...(args.rate ? { rate: args.rate } : {}),
    ...(args.stats ? { stats: true } : {}),
  });
  process.stdout.write(args.json ? `${JSON.stringify(reply)}\n` : formatNicReply(reply));
  return EXIT.ok;
}
