// Shared set-up of the QMP unit tests: a fake server and a client negotiated with it.
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from '../../../../launcher/qmp/client.js';
import type { QmpConnectionOptions } from '../../../../launcher/qmp/connection.js';
import { QmpTransport } from '../../../../launcher/qmp/transport.js';
import { FakeQmp } from '../../../helpers/fake-qmp.js';

/** A fake server and a client on the two ends of one socketpair, not yet connected. */
export function clientAndFake(options: QmpConnectionOptions = {}): {
  fake: FakeQmp;
  qmp: QmpClient;
} {
  const fake = new FakeQmp();
  const qmp = new QmpClient(QmpTransport.fromFd(fake.clientFd), options);
  return { fake, qmp };
}

/** The same, after greeting and qmp_capabilities. */
export async function connectedToFake(
  options: QmpConnectionOptions = {},
): Promise<{ fake: FakeQmp; qmp: QmpClient }> {
  const pair = clientAndFake(options);
  await Promise.all([pair.qmp.connect(), pair.fake.handshake()]);
  return pair;
}

/** Our process's open fd count (the leak snapshot of docs/faults.md). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Resolves after the event loop has had a few turns (lets replies and closes propagate). */
export function settle(ms = 20): Promise<void> {
  return sleep(ms);
}
