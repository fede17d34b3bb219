// The files of a NoCloud seed (docs/guest-network.md): network-config (the v2 document),
// meta-data (instance-id, local-hostname), user-data (the caller's, or an empty cloud-config),
// and vmlaunch-net, the same network settings one per line for the default guest's shell.
// JSON is YAML 1.2, so the YAML files are written as indented JSON: deterministic, and read
// by every YAML parser cloud-init uses.
import { ValidationError } from '../../core/index.js';
import type { NetworkConfigV2 } from './network-config.js';

/** What goes into a seed besides the network: the guest's identity and the caller's user-data. */
export interface SeedIdentity {
  /** cloud-init's instance-id: a new one makes cloud-init run its per-instance modules again. */
  instanceId: string;
  hostname: string;
  /** Written as given (e.g. '#cloud-config\n...'); default: an empty cloud-config. */
  userData?: string;
}

/** The seed's files by name, in the order they are written. */
export type SeedFiles = [name: string, content: string][];

// RFC 1123 host name: labels of letters, digits and '-', dot separated.
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

// Checks the identity fields a guest will read (a host name goes into /etc/hostname).
export function validateSeedIdentity(identity: SeedIdentity, path = 'guestNetwork'): void {
  if (!HOSTNAME_RE.test(identity.hostname)) {
    throw new ValidationError(`${path}.hostname`, identity.hostname, 'not a host name', 'HOSTNAME');
  }
  if (!/^[\x21-\x7e]{1,128}$/.test(identity.instanceId)) {
    throw new ValidationError(
      `${path}.instanceId`,
      identity.instanceId,
      'expected 1-128 printable characters without spaces',
      'INSTANCE_ID',
    );
  }
}

// The line format the default guest's init reads (scripts/guest/init, apply_seed): one record
// per line, fields separated by one space, '-' for an absent field.
//   nic MAC MTU | addr MAC CIDR | route MAC DST GATEWAY MTU ONLINK | nameserver IP | search DOMAIN
export function vmlaunchNetLines(doc: NetworkConfigV2): string {
  const out = ['# vmlaunch-net 1'];
  for (const eth of Object.values(doc.ethernets)) {
    const mac = eth.match.macaddress;
    out.push(`nic ${mac} ${eth.mtu ?? '-'}`);
    for (const a of eth.addresses) out.push(`addr ${mac} ${a}`);
    for (const r of eth.routes ?? []) {
      out.push(
        `route ${mac} ${r.to} ${r.via ?? '-'} ${r.mtu ?? '-'} ${r['on-link'] ? 'onlink' : '-'}`,
      );
    }
    for (const s of eth.nameservers?.addresses ?? []) out.push(`nameserver ${s}`);
    for (const d of eth.nameservers?.search ?? []) out.push(`search ${d}`);
  }
  return `${out.join('\n')}\n`;
}

// Every file of the seed, as text; the same inputs give the same bytes.
export function seedFiles(doc: NetworkConfigV2, identity: SeedIdentity): SeedFiles {
  validateSeedIdentity(identity);
  const meta = { 'instance-id': identity.instanceId, 'local-hostname': identity.hostname };
  return [
    ['meta-data', `${JSON.stringify(meta, null, 2)}\n`],
    ['network-config', `${JSON.stringify(doc, null, 2)}\n`],
    ['user-data', identity.userData ?? '#cloud-config\n{}\n'],
    ['vmlaunch-net', vmlaunchNetLines(doc)],
  ];
}
