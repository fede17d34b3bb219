// A bounded retry for kernel calls that may report EBUSY for a moment (an ingress qdisc add
// while another change settles): kata retries 5 times, 10 ms apart, growing linearly.
import { setTimeout as delay } from 'node:timers/promises';

/** How often and how long to retry. */
export interface BusyRetry {
  attempts?: number;
  stepMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

// Runs `fn`, retrying on EBUSY with a linear backoff; other errors and the last EBUSY surface.
export async function retryOnBusy<T>(fn: () => Promise<T>, options: BusyRetry = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const stepMs = options.stepMs ?? 10;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EBUSY' || attempt >= attempts) throw error;
      await sleep(stepMs * attempt);
    }
  }
}
