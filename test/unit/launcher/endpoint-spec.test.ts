import { describe, expect, it } from 'vitest';
import { parseEndpointSpec } from '../../../launcher/cli/endpoint-spec.js';
import { ValidationError } from '../../../core/index.js';

describe('parseEndpointSpec', () => {
  it.each([
    ['tap:tap0', { endpoint: { kind: 'tap', name: 'tap0', create: true } }],
    [
      'tap:tap0@ns1,queues=2',
      { endpoint: { kind: 'tap', name: 'tap0', create: true, queues: 2 }, netns: 'ns1' },
    ],
    [
      'veth:eth0@cni-1',
      { endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' }, netns: 'cni-1' },
    ],
    [
      'veth:eth0@cni-1:macvtap,mtu=1400',
      {
        endpoint: { kind: 'veth', name: 'eth0', interworking: 'macvtap', mtu: 1400 },
        netns: 'cni-1',
      },
    ],
    ['macvtap:mvt0@ns', { endpoint: { kind: 'macvtap', name: 'mvt0' }, netns: 'ns' }],
    [
      'macvlan:net1@ns,mtu=1400',
      { endpoint: { kind: 'macvlan', name: 'net1', mtu: 1400 }, netns: 'ns' },
    ],
    ['ipvlan:net2@ns', { endpoint: { kind: 'ipvlan', name: 'net2' }, netns: 'ns' }],
    [
      'vhost-user:/run/vu.sock',
      { endpoint: { kind: 'vhost-user', socketPath: '/run/vu.sock', mode: 'client' } },
    ],
    [
      'vhost-user:/run/vu.sock:server,mac=52:54:00:AA:00:01',
      {
        endpoint: {
          kind: 'vhost-user',
          socketPath: '/run/vu.sock',
          mode: 'server',
          mac: '52:54:00:aa:00:01',
        },
      },
    ],
    ['vfio:0000:01:00.0', { endpoint: { kind: 'physical', pciAddress: '0000:01:00.0' } }],
    [
      'veth:eth0@cni-1,ip=10.1.0.2/24,ip=fd00::2/64,gw=10.1.0.1',
      {
        endpoint: {
          kind: 'veth',
          name: 'eth0',
          interworking: 'tcfilter',
          addresses: ['10.1.0.2/24', 'fd00::2/64'],
          routes: [{ dst: 'default', gateway: '10.1.0.1' }],
        },
        netns: 'cni-1',
      },
    ],
    [
      'macvlan:net1@ns,ip=192.168.5.9/24',
      { endpoint: { kind: 'macvlan', name: 'net1', addresses: ['192.168.5.9/24'] }, netns: 'ns' },
    ],
  ])('reads %s', (spec, expected) => {
    expect(parseEndpointSpec(spec)).toEqual(expected);
  });

  it.each([
    'eth0',
    'wifi:x',
    'veth:eth0',
    'veth:eth0@ns:nat',
    'macvlan:net1',
    'ipvlan:net2,queues=0',
    'tap:tap0,color=red',
    'vhost-user:relative.sock',
    'tap:a/b',
    'veth:eth0@ns,gw=10.1.0.1',
    'veth:eth0@ns,ip=10.1.0.300/24',
    'veth:eth0@ns,ip=10.1.0.2/24,gw=nowhere',
    'tap:tap0,ip=10.1.0.2/24',
  ])('rejects %s with a ValidationError', (spec) => {
    expect(() => parseEndpointSpec(spec)).toThrow(ValidationError);
  });
});
