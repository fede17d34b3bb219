// The CLI's rate texts, in tc's units: rates `10mbit`, `500kbit`, `64kbps` (bit units per
// second, or bytes per second with `bps`; k/m/g are powers of 1000), bursts `32k`, `1m`, `20000`
// (bytes; k/m are powers of 1024). `vmlaunch nic --rate rx=10mbit,tx=off,tx-burst=32k` and the
// `--net` options rx-rate=, tx-rate=, rx-burst=, tx-burst= both read them here.
import { ValidationError } from '../../core/index.js';
import type { NicRate, NicRateChange, RateLimit } from '../../network/endpoints/rate-limit.js';

const RATE_UNITS: Readonly<Record<string, number>> = {
  bit: 1 / 8,
  kbit: 1000 / 8,
  mbit: 1e6 / 8,
  gbit: 1e9 / 8,
  bps: 1,
  kbps: 1000,
  mbps: 1e6,
  gbps: 1e9,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
};

/** A rate text as bytes per second. @throws ValidationError naming `path`. */
export function parseRateText(text: string, path: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/i.exec(text.trim());
  const unit = m ? RATE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new ValidationError(
      path,
      text,
      'a rate is a number with a unit: bit, kbit, mbit, gbit (bits/s) or bps, kbps, mbps, gbps (bytes/s)',
      'SPEC',
    );
  }
  return Math.round(Number(m[1]) * unit);
}

/** A burst text as bytes. @throws ValidationError naming `path`. */
export function parseSizeText(text: string, path: string): number {
  const m = /^(\d+)([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new ValidationError(path, text, 'a burst is bytes, optionally with k or m', 'SPEC');
  return Number(m[1]) * unit;
}

/** The keys both forms take, per direction: its rate and its burst. */
interface DirectionKeys {
  rate: string;
  burst: string;
}

// Collects one direction from `values` (already split): a limit, 'off' (null) or nothing.
function direction(
  values: Map<string, string>,
  keys: DirectionKeys,
  path: string,
): RateLimit | null | undefined {
  const rate = values.get(keys.rate);
  const burst = values.get(keys.burst);
  if (rate === undefined) {
    if (burst !== undefined)
      throw new ValidationError(path, burst, `${keys.burst} needs ${keys.rate}`, 'SPEC');
    return undefined;
  }
  if (rate === 'off') {
    if (burst !== undefined)
      throw new ValidationError(path, burst, `${keys.burst} with ${keys.rate}=off`, 'SPEC');
    return null;
  }
  const limit: RateLimit = { rate: parseRateText(rate, `${path}.${keys.rate}`) };
  if (burst !== undefined) limit.burst = parseSizeText(burst, `${path}.${keys.burst}`);
  return limit;
}

/**
 * `--rate` of `vmlaunch nic`: `off` (both removed) or comma-separated rx=, tx= (a rate or off),
 * rx-burst=, tx-burst=.
 * @throws ValidationError for an unknown key or a bad value.
 */
export function parseRateChange(text: string, path = '--rate'): NicRateChange {
  if (text.trim() === 'off') return { rx: null, tx: null };
  const values = new Map<string, string>();
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq).trim();
    if (eq < 0 || !['rx', 'tx', 'rx-burst', 'tx-burst'].includes(key) || values.has(key)) {
      throw new ValidationError(
        path,
        text,
        `unexpected "${item}"; expected rx=RATE|off, tx=RATE|off, rx-burst=SIZE, tx-burst=SIZE (each once), or off`,
        'SPEC',
      );
    }
    values.set(key, item.slice(eq + 1).trim());
  }
  const out: NicRateChange = {};
  for (const d of ['rx', 'tx'] as const) {
    const limit = direction(values, { rate: d, burst: `${d}-burst` }, path);
    if (limit !== undefined) out[d] = limit;
  }
  return out;
}

/**
 * The rate options of a `--net` spec (rx-rate=, tx-rate=, rx-burst=, tx-burst=), or undefined.
 * @throws ValidationError for a bad value (off is not a limit at launch).
 */
export function rateFromSpecOptions(
  values: Map<string, string>,
  path: string,
): NicRate | undefined {
  const out: NicRate = {};
  for (const d of ['rx', 'tx'] as const) {
    const keys = { rate: `${d}-rate`, burst: `${d}-burst` };
    if (values.get(keys.rate) === 'off')
      throw new ValidationError(path, 'off', `${keys.rate}=off: leave it out instead`, 'SPEC');
    const limit = direction(values, keys, path);
    if (limit) out[d] = limit;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
