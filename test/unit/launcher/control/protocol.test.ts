import { describe, expect, it } from 'vitest';
import { ControlError } from '../../../../launcher/control/errors.js';
import {
  CONTROL_PROTOCOL_VERSION,
  encodeLine,
  parseRequest,
  parseResponse,
} from '../../../../launcher/control/protocol.js';

describe('control protocol: requests', () => {
  it('parses each operation and keeps only known fields', () => {
    expect(
      parseRequest('{"id":1,"op":"attach","spec":"veth:eth1@ns","nicId":"hp3","x":1}'),
    ).toEqual({
      id: 1,
      op: 'attach',
      spec: 'veth:eth1@ns',
      nicId: 'hp3',
    });
    expect(parseRequest('{"id":2,"op":"detach","nicId":"hp3","timeout":9000}')).toEqual({
      id: 2,
      op: 'detach',
      nicId: 'hp3',
      timeout: 9000,
    });
    expect(parseRequest('{"id":3,"op":"status"}')).toEqual({ id: 3, op: 'status' });
    expect(parseRequest('{"id":4,"op":"exec","command":"ls /sys/class/net"}')).toEqual({
      id: 4,
      op: 'exec',
      command: 'ls /sys/class/net',
    });
    expect(parseRequest('{"id":5,"op":"snapshot","path":"/s/a","then":"shutdown"}')).toEqual({
      id: 5,
      op: 'snapshot',
      path: '/s/a',
      then: 'shutdown',
    });
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[1]', 'expected a JSON object'],
    ['{"op":"status"}', 'id: expected an integer'],
    ['{"id":1,"op":"reboot"}', 'unknown operation "reboot"'],
    ['{"id":1,"op":"attach"}', 'spec: expected a non-empty string'],
    ['{"id":1,"op":"attach","spec":""}', 'spec: expected a non-empty string'],
    ['{"id":1,"op":"detach","nicId":"a\\u0000b"}', 'nicId'],
    ['{"id":1,"op":"detach","nicId":"hp0","timeout":-1}', 'timeout'],
    ['{"id":1,"op":"exec","command":"ls","timeout":"5"}', 'timeout'],
    ['{"id":1,"op":"snapshot","path":"rel/a"}', 'path: expected an absolute path'],
    ['{"id":1,"op":"snapshot","path":"/a","then":"reboot"}', 'then: expected'],
  ])('refuses %s', (line, why) => {
    let caught: unknown;
    try {
      parseRequest(line);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ControlError);
    expect((caught as ControlError).code).toBe('PROTOCOL');
    expect((caught as ControlError).message).toContain(why);
  });

  it('encodes one line per message, newlines in values escaped', () => {
    const line = encodeLine({ id: 7, op: 'exec', command: 'echo a\necho b' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(parseRequest(line)).toEqual({ id: 7, op: 'exec', command: 'echo a\necho b' });
  });
});

describe('control protocol: responses', () => {
  it('parses a result and an error (explanation falls back to the message)', () => {
    const v = CONTROL_PROTOCOL_VERSION;
    expect(parseResponse(JSON.stringify({ v, id: 1, ok: true, result: { a: 1 } }))).toEqual({
      v,
      id: 1,
      ok: true,
      result: { a: 1 },
    });
    const error = parseResponse(
      JSON.stringify({ v, id: 2, ok: false, error: { code: 'X', name: 'E', message: 'm' } }),
    );
    expect(error).toEqual({
      v,
      id: 2,
      ok: false,
      error: { code: 'X', name: 'E', message: 'm', explanation: 'm' },
    });
  });

  it('refuses another protocol version and malformed lines', () => {
    expect(() => parseResponse('{"v":99,"id":1,"ok":true}')).toThrow(/protocol version 99/);
    expect(() => parseResponse('{"v":1,"id":"x","ok":true}')).toThrow(ControlError);
    expect(() => parseResponse('{"v":1,"id":1,"ok":"yes"}')).toThrow(ControlError);
    expect(() => parseResponse('garbage')).toThrow(ControlError);
  });
});
