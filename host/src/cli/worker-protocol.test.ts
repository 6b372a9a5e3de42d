import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { AlertDecodeError, ConfigError, DeviceError, HairtriggerError, isOperatingError, ModelError, RequestError } from '../core/errors.js';
import { fromWire, toWire } from './worker-protocol.js';

/** `err` through a real message port, as it crosses from a worker to the main thread. */
async function crossed(err: unknown): Promise<Error> {
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<unknown>((res) => port2.once('message', res));
  port1.postMessage(toWire(err));
  const wire = await received;
  port1.close();
  return fromWire(wire as ReturnType<typeof toWire>);
}

describe('errors between a pipeline worker and the main thread', () => {
  it('a typed error arrives as the same class, message and fields (a 503 stays a 503)', async () => {
    const err = await crossed(new RequestError('pipeline keywords', 'no answer within 2000 ms', 503));
    expect(err).toBeInstanceOf(RequestError);
    expect(isOperatingError(err)).toBe(true);
    expect(err.message).toBe('E_REQUEST at pipeline keywords: no answer within 2000 ms');
    expect(err).toMatchObject({ code: 'E_REQUEST', where: 'pipeline keywords', status: 503, name: 'RequestError' });

    const model = await crossed(new ModelError('/m/student.onnx', 'no such file'));
    expect(model).toBeInstanceOf(ModelError);
    expect(model).not.toBeInstanceOf(ConfigError);
    expect(model.message).toBe('E_MODEL at /m/student.onnx: no such file');

    const device = await crossed(new DeviceError('/dev/shm/x', 'magic', 'not a device'));
    expect(device).toBeInstanceOf(DeviceError);
    expect((device as DeviceError).reason).toBe('magic');

    const alert = await crossed(new AlertDecodeError({ file: 'a.avro', index: 3, schema: null }, 'truncated', 'short block'));
    expect(alert).toBeInstanceOf(AlertDecodeError);
    expect(alert).toMatchObject({ reason: 'truncated', file: 'a.avro', index: 3, schema: null });
  });

  it('anything else arrives as a plain Error keeping the worker stack: a bug stays a bug', async () => {
    const bug = new TypeError('x is undefined');
    const err = await crossed(bug);
    expect(isOperatingError(err)).toBe(false);
    expect(err).not.toBeInstanceOf(HairtriggerError);
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('x is undefined');
    expect(err.stack).toBe(bug.stack);
    expect((await crossed('a string')).message).toBe('a string');
  });
});
