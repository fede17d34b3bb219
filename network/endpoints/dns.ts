// DNS settings of a network namespace, as a process that iproute2 runs inside NAME would see them:
// iproute2 bind-mounts every file of /etc/netns/NAME/ over /etc/ (ip/ipnetns.c,
// bind_etc()), so /etc/netns/NAME/resolv.conf wins when it exists, else /etc/resolv.conf.
// The parser follows resolv.conf(5): '#' or ';' comments, 'nameserver' lines accumulate,
// 'domain' and 'search' replace each other (the last one wins), 'options' accumulate.
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { NETNS_RUN_DIR } from '../netns/paths.js';
import { validateNetnsName } from '../validate.js';

/** A namespace's resolver configuration. */
export interface DnsSettings {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** Where /etc is (tests point this at a temp dir). */
export interface DnsOptions {
  etcRoot?: string;
}

// Parsed once here so every caller (scan, a guest's /etc/resolv.conf) reads the same fields.
/** Parses resolv.conf text. */
export function parseResolvConf(text: string): DnsSettings {
  const dns: DnsSettings = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0] !== undefined) dns.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') dns.search = values;
    else if (key === 'options') dns.options.push(...values);
  }
  return dns;
}

// The netns name iproute2 would use for /etc/netns/NAME, when `netns` is a named one.
function netnsName(netns: string | undefined): string | undefined {
  if (netns === undefined) return undefined;
  if (!isAbsolute(netns)) return validateNetnsName(netns);
  return dirname(netns) === NETNS_RUN_DIR ? basename(netns) : undefined;
}

// Files read, in order; the first that exists is the namespace's resolv.conf.
/** The resolv.conf candidates for `netns` (a name, /run/netns/NAME, another path, or none). */
export function resolvConfCandidates(netns: string | undefined, etcRoot = '/etc'): string[] {
  const name = netnsName(netns);
  const global = join(etcRoot, 'resolv.conf');
  return name === undefined ? [global] : [join(etcRoot, 'netns', name, 'resolv.conf'), global];
}

// Scan records DNS with the endpoints so a guest can be given the namespace's resolver.
/**
 * Reads the DNS settings a process in `netns` would get; empty lists when no file exists.
 * @throws {ValidationError} a malformed netns name.
 * @throws {Error} when a resolv.conf exists but cannot be read (EACCES, EISDIR...).
 */
export async function readNetnsDns(
  netns: string | undefined,
  options: DnsOptions = {},
): Promise<DnsSettings> {
  for (const file of resolvConfCandidates(netns, options.etcRoot)) {
    try {
      return parseResolvConf(await readFile(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { nameservers: [], search: [], options: [] };
}
