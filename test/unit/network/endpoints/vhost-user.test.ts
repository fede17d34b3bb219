// attachVhostUser against real files: temp dirs and real unix sockets made with node:net
// (a listening server stands in for the backend in client mode and for QEMU in server mode).
// Fault ids (T1...T35) are defined in docs/faults.md.
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import type { VhostUserEndpoint } from '../../../../network/endpoints/types.js';
import { attachVhostUser } from '../../../../network/endpoints/vhost-user.js';

const ctx = { nicId: 'net1' };
let base: string;
let dir: string;
const servers: Server[] = [];

// Listens on a unix socket at `path` (what a backend or QEMU would do).
async function listen(path: string): Promise<Server> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return server;
}

const close = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));

const ep = (
  socketPath: string,
  mode: 'client' | 'server',
  extra: Partial<VhostUserEndpoint> = {},
) => ({ kind: 'vhost-user', socketPath, mode, ...extra }) as VhostUserEndpoint;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'vml-vu-'));
  dir = join(base, 'run');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o700);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map(close));
  rmSync(base, { recursive: true, force: true });
});

describe('attachVhostUser, client mode', () => {
  it('accepts a live backend socket and generates a local MAC, queues 1', async () => {
    const path = join(dir, 'backend.sock');
    await listen(path);
    const attached = await attachVhostUser(ep(path, 'client'), ctx);
    expect(attached.hostNic).toMatchObject({
      kind: 'vhost-user',
      id: 'net1',
      queues: 1,
      socketPath: path,
      mode: 'client',
    });
    expect(attached.hostNic).not.toHaveProperty('mtu');
    const mac = (attached.hostNic as { mac: string }).mac;
    // Locally administered (bit 0x02 set) and unicast (bit 0x01 clear).
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(attached.endpoint).toMatchObject({ mac });
    await attached.detach();
    await attached.detach();
    expect(lstatSync(path).isSocket()).toBe(true);
  });

  it('passes MAC, MTU and queues through', async () => {
    const path = join(dir, 'b.sock');
    await listen(path);
    const attached = await attachVhostUser(
      ep(path, 'client', { mac: '52:54:00:AA:00:01', mtu: 9000, queues: 4 }),
      ctx,
    );
    expect(attached.hostNic).toMatchObject({ mac: '52:54:00:aa:00:01', mtu: 9000, queues: 4 });
  });

  it('names a missing socket and a non-socket clearly', async () => {
    await expect(attachVhostUser(ep(join(dir, 'none.sock'), 'client'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_MISSING',
      path: 'endpoint.socketPath',
    });
    const file = join(dir, 'file.sock');
    writeFileSync(file, '');
    await expect(attachVhostUser(ep(file, 'client'), ctx)).rejects.toMatchObject({
      code: 'NOT_A_SOCKET',
    });
    await expect(attachVhostUser(ep(dir, 'client'), ctx)).rejects.toThrow(/not a unix socket/);
  });
});

describe('attachVhostUser, client mode: whose socket, in whose directory', () => {
  it('refuses a socket owned by neither root nor the uid QEMU runs as', async () => {
    const path = join(dir, 'foreign.sock');
    await listen(path);
    chownSync(path, 12345, 12345);
    await expect(attachVhostUser(ep(path, 'client'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_OWNER',
      path: 'endpoint.socketPath',
    });
    // The uid QEMU runs as (runAs) may own it.
    await expect(
      attachVhostUser(ep(path, 'client'), { ...ctx, qemuUid: 12345 }),
    ).resolves.toBeDefined();
  });

  it('refuses a socket in a directory others can write, as server mode does', async () => {
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    const path = join(open, 'backend.sock');
    await listen(path);
    await expect(attachVhostUser(ep(path, 'client'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_DIR',
    });
  });

  it('refuses a socket in a directory owned by another uid', async () => {
    const theirs = join(base, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    const path = join(theirs, 'backend.sock');
    await listen(path);
    chownSync(theirs, 12345, 12345);
    await expect(attachVhostUser(ep(path, 'client'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_DIR',
    });
  });

  it('refuses a symlink to a socket', async () => {
    const path = join(dir, 'real.sock');
    await listen(path);
    const link = join(dir, 'link.sock');
    symlinkSync(path, link);
    await expect(attachVhostUser(ep(link, 'client'), ctx)).rejects.toMatchObject({
      code: 'NOT_A_SOCKET',
    });
  });
});

describe('attachVhostUser, path and field validation', () => {
  it.each([
    ['a relative path', 'run/x.sock', 'SOCKET_PATH'],
    ['108 bytes', `/${'a'.repeat(107)}`, 'SOCKET_PATH'],
  ])('refuses %s', async (_name, path, code) => {
    await expect(attachVhostUser(ep(path, 'server'), ctx)).rejects.toMatchObject({ code });
  });

  it('accepts 107 bytes as a path (then checks the directory)', async () => {
    const path = `/${'a'.repeat(106)}`;
    await expect(attachVhostUser(ep(path, 'client'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_MISSING',
    });
  });

  it('refuses a bad MAC, queue count or mode, naming the field', async () => {
    const path = join(dir, 'q.sock');
    await expect(
      attachVhostUser(ep(path, 'server', { mac: '01:00:5e:00:00:01' }), ctx),
    ).rejects.toMatchObject({
      path: 'endpoint.mac',
    });
    await expect(attachVhostUser(ep(path, 'server', { queues: 0 }), ctx)).rejects.toMatchObject({
      path: 'endpoint.queues',
    });
    await expect(attachVhostUser(ep(path, 'bogus' as 'server'), ctx)).rejects.toMatchObject({
      path: 'endpoint.mode',
    });
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(
      attachVhostUser(ep(join(dir, 'x.sock'), 'server'), { ...ctx, signal: AbortSignal.abort() }),
    ).rejects.toThrow(/abort/i);
  });
});

describe('attachVhostUser, server mode (T21)', () => {
  it('claims a free path in a 0700 dir; detach removes the socket QEMU left there', async () => {
    const path = join(dir, 'vm.sock');
    const attached = await attachVhostUser(ep(path, 'server'), ctx);
    expect(attached.hostNic).toMatchObject({ mode: 'server', socketPath: path });
    // Stand-in for QEMU listening, then dying without unlinking (SIGKILL): a hard link keeps
    // the socket inode at the path after the server closes.
    const server = await listen(`${path}.q`);
    linkSync(`${path}.q`, path);
    await close(server);
    expect(lstatSync(path).isSocket()).toBe(true);
    await attached.detach();
    expect(existsSync(path)).toBe(false);
    await attached.detach();
  });

  it('detach leaves a non-socket at the path alone, and tolerates nothing there', async () => {
    const path = join(dir, 'vm.sock');
    const a = await attachVhostUser(ep(path, 'server'), ctx);
    await a.detach();
    const b = await attachVhostUser(ep(path, 'server'), ctx);
    writeFileSync(path, 'not a socket');
    await b.detach();
    expect(existsSync(path)).toBe(true);
  });

  it('refuses an existing file at the path and does not delete it', async () => {
    const path = join(dir, 'stale.sock');
    const server = await listen(`${path}.live`);
    linkSync(`${path}.live`, path);
    await close(server);
    await expect(attachVhostUser(ep(path, 'server'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_EXISTS',
    });
    expect(lstatSync(path).isSocket()).toBe(true);
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    await expect(attachVhostUser(ep(file, 'server'), ctx)).rejects.toThrow(/will not delete it/);
    expect(existsSync(file)).toBe(true);
  });

  it.each([0o777, 0o770, 0o702, 0o1777])('refuses a directory with mode %o', async (mode) => {
    chmodSync(dir, mode);
    await expect(attachVhostUser(ep(join(dir, 'x.sock'), 'server'), ctx)).rejects.toMatchObject({
      code: 'SOCKET_DIR',
    });
  });

  it('refuses a symlinked, missing or non-directory parent', async () => {
    const link = join(base, 'link');
    symlinkSync(dir, link);
    await expect(attachVhostUser(ep(join(link, 'x.sock'), 'server'), ctx)).rejects.toThrow(
      /is a symlink/,
    );
    await expect(attachVhostUser(ep(join(base, 'nope', 'x.sock'), 'server'), ctx)).rejects.toThrow(
      /does not exist/,
    );
    writeFileSync(join(base, 'f'), '');
    await expect(attachVhostUser(ep(join(base, 'f', 'x.sock'), 'server'), ctx)).rejects.toThrow(
      ValidationError,
    );
  });
});
