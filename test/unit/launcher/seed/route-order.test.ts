// orderRoutes: the order a guest adds routes in. Checked on what CNI plugins make (ptp: an
// on-link /32 to the gateway listed after the routes through it) and, as properties, against a
// small model of the kernel's rule: a route via a gateway is accepted only when the gateway is
// in a prefix of the link's addresses or behind an on-link route added before, or it says onlink.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderRoutes, type OrderedRoute } from '../../../../launcher/seed/route-order.js';
import type { EndpointRoute } from '../../../../network/endpoints/types.js';
import { fuzzParams } from '../../fuzz/fuzz-params.js';

// IPv4 text -> 32-bit number (the test's own arithmetic, not the module's BlockList).
const toNum = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function covers(cidr: string, ip: string): boolean {
  if (cidr === 'default') return true;
  const [net, bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNum(net!) / size) === Math.floor(toNum(ip) / size);
}

// The kernel model: adds `routes` in order; returns the index of the first refused one, or -1.
function firstRefused(addresses: string[], routes: OrderedRoute[]): number {
  const onLink: string[] = [...addresses];
  return routes.findIndex((r) => {
    if (r.gateway === undefined) {
      onLink.push(r.dst);
      return false;
    }
    return !r.onLink && !onLink.some((p) => covers(p, r.gateway!));
  });
}

describe('orderRoutes', () => {
  it('puts the on-link route to the gateway before the routes through it (CNI ptp)', () => {
    const routes: EndpointRoute[] = [
      { dst: 'default', gateway: '10.215.3.1' },
      { dst: '10.215.3.0/24', gateway: '10.215.3.1' },
      { dst: '10.215.3.1/32' },
    ];
    expect(orderRoutes(['10.215.3.2/24'], routes)).toEqual([
      { dst: '10.215.3.1/32' },
      { dst: 'default', gateway: '10.215.3.1' },
      { dst: '10.215.3.0/24', gateway: '10.215.3.1' },
    ]);
  });

  it('marks a route onLink when nothing makes its gateway reachable', () => {
    expect(orderRoutes(['10.0.0.2/32'], [{ dst: 'default', gateway: '192.168.1.1' }])).toEqual([
      { dst: 'default', gateway: '192.168.1.1', onLink: true },
    ]);
  });

  it('takes a gateway in the address prefix as reachable, IPv6 too', () => {
    expect(
      orderRoutes(['fd00::2/64'], [{ dst: 'default', gateway: 'fd00::1', mtu: 1400 }]),
    ).toEqual([{ dst: 'default', gateway: 'fd00::1', mtu: 1400 }]);
    expect(orderRoutes(['10.0.0.2/32'], [{ dst: 'default', gateway: 'fd00::1' }])).toEqual([
      { dst: 'default', gateway: 'fd00::1', onLink: true },
    ]);
  });

  // Small address space, so gateways often (not always) fall in a prefix.
  const ip = fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }))
    .map(([a, b]) => `10.0.${a}.${b}`);
  const cidr = fc.tuple(ip, fc.integer({ min: 22, max: 32 })).map(([a, n]) => `${a}/${n}`);
  const route: fc.Arbitrary<EndpointRoute> = fc.record(
    {
      dst: fc.oneof(cidr, fc.constant('default')),
      gateway: ip,
      mtu: fc.integer({ min: 1280, max: 9000 }),
    },
    { requiredKeys: ['dst'] },
  );
  const input = fc.tuple(fc.array(cidr, { maxLength: 3 }), fc.array(route, { maxLength: 8 }));

  it('keeps every route, adds none, and keeps the order within each group', () => {
    fc.assert(
      fc.property(input, ([addresses, routes]) => {
        const out = orderRoutes(addresses, routes);
        const strip = ({ onLink: _, ...r }: OrderedRoute): EndpointRoute => r;
        expect(out.map(strip)).toHaveLength(routes.length);
        expect([...out.map((r) => JSON.stringify(strip(r)))].sort()).toEqual(
          routes.map((r) => JSON.stringify(r)).sort(),
        );
        const onLink = routes.filter((r) => r.gateway === undefined);
        expect(out.slice(0, onLink.length).map(strip)).toEqual(onLink);
      }),
      fuzzParams(300),
    );
  });

  it('gives an order the kernel model accepts, marking onLink only where needed', () => {
    fc.assert(
      fc.property(input, ([addresses, routes]) => {
        const out = orderRoutes(addresses, routes);
        expect(firstRefused(addresses, out)).toBe(-1);
        for (const r of out.filter((o) => o.onLink)) {
          const without = out.map((o) => (o === r ? { ...o, onLink: undefined } : o));
          expect(firstRefused(addresses, without)).not.toBe(-1);
        }
      }),
      fuzzParams(300),
    );
  });
});
