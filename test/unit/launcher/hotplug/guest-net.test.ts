// The command a hot-plugged NIC's guest network is applied and removed with: the vmlaunch-net
// lines of its entry, each single-quoted, piped into the default guest's init.
import { describe, expect, it } from 'vitest';
import { guestNetCommand } from '../../../../launcher/hotplug/guest-net.js';
import { guestNetworkConfig } from '../../../../launcher/seed/network-config.js';

describe('guestNetCommand', () => {
  const doc = guestNetworkConfig(
    [
      {
        id: 'hp0',
        mac: '52:54:00:00:00:07',
        mtu: 1400,
        addresses: ['10.1.2.2/24'],
        routes: [{ dst: 'default', gateway: '10.1.2.1' }],
      },
    ],
    { dns: { nameservers: ['10.1.2.1'], search: ['hp.test'] } },
  );

  it('pipes the lines into VMLAUNCH_NET_OP=apply|remove /init', () => {
    const lines =
      "'nic 52:54:00:00:00:07 1400' 'addr 52:54:00:00:00:07 10.1.2.2/24' " +
      "'route 52:54:00:00:00:07 default 10.1.2.1 - -' 'nameserver 10.1.2.1' 'search hp.test'";
    expect(guestNetCommand('apply', doc)).toBe(
      `printf '%s\\n' ${lines} | VMLAUNCH_NET_OP=apply /init`,
    );
    expect(guestNetCommand('remove', doc)).toMatch(/\| VMLAUNCH_NET_OP=remove \/init$/);
  });

  it('refuses a line with characters the shell would read (never produced by a checked doc)', () => {
    const bad = structuredClone(doc);
    bad.ethernets.hp0!.addresses = ["10.1.2.2/24'; reboot; '"];
    expect(() => guestNetCommand('apply', bad)).toThrow(/unexpected vmlaunch-net line/);
  });
});
