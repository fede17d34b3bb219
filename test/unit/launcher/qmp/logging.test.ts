import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectedToFake } from './connected.js';

describe('logging', () => {
  it('takes a pino logger and reports a skipped garbage line through it', async () => {
    const lines: Array<{ level: number; msg: string; line?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const logger = pino({ level: 'warn' }, sink);
    const { fake, qmp } = await connectedToFake({ logger });
    const call = qmp.execute('x');
    const command = await fake.nextCommand();
    fake.sendRaw('not json\r\n');
    fake.reply(command);
    await call;
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, line: 'not json' });
    expect(lines[0]?.msg).toMatch(/not JSON/);
    qmp.close();
    fake.close();
  });
});
