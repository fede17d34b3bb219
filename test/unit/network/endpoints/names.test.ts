import { describe, expect, it } from 'vitest';
import { linkName } from '../../../../network/endpoints/names.js';

describe('linkName', () => {
  it('is stable for one VM and NIC, and fits IFNAMSIZ', () => {
    expect(linkName('net0', 't', 'vm-a')).toBe(linkName('net0', 't', 'vm-a'));
    expect(linkName('net0', 't', 'vm-a')).toMatch(/^vmlt[0-9a-f]{8}$/);
  });

  it('differs between two VMs whose NICs share an id (net0 of each VM in one netns)', () => {
    expect(linkName('net0', 't', 'vm-a')).not.toBe(linkName('net0', 't', 'vm-b'));
  });

  it('differs by role', () => {
    expect(linkName('net0', 't')).toMatch(/^vmlt/);
    expect(linkName('net0', 'm')).toMatch(/^vmlm/);
  });
});
