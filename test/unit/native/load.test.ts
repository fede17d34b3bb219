import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VmlaunchError } from '../../../core/index.js';
import { candidatePaths, loadBinding } from '../../../native/index.js';

describe('loadBinding', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a missing binary as NATIVE_MISSING, listing every path it tried', () => {
    const paths = ['/nonexistent/vml-a/vmlaunch_native.node', '/nonexistent/vml-b/x.node'];
    let error: unknown;
    try {
      loadBinding(paths);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VmlaunchError);
    expect(error).toMatchObject({ code: 'NATIVE_MISSING' });
    for (const path of paths) expect((error as Error).message).toContain(`${path} (not found)`);
    expect((error as Error).message).toMatch(/npm run build/);
  });

  it('reports a file that is not an addon as NATIVE_LOAD naming it, with the cause', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vml-load-'));
    dirs.push(dir);
    const bogus = join(dir, 'vmlaunch_native.node');
    writeFileSync(bogus, 'not an ELF file');
    let error: unknown;
    try {
      loadBinding(['/nonexistent/vml-a.node', bogus]);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'NATIVE_LOAD' });
    expect((error as Error).message).toContain(bogus);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('candidatePaths', () => {
  it('tries $VMLAUNCH_NATIVE first, then the Release and Debug builds', () => {
    const paths = candidatePaths({ VMLAUNCH_NATIVE: '/opt/custom.node' });
    expect(paths[0]).toBe('/opt/custom.node');
    expect(paths[1]).toMatch(/native\/build\/Release\/vmlaunch_native\.node$/);
    expect(paths[2]).toMatch(/native\/build\/Debug\/vmlaunch_native\.node$/);
    expect(candidatePaths({})).toEqual(paths.slice(1));
  });
});
