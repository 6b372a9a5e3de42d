import { EventEmitter } from 'node:events';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { limits } from '../core/limits.js';
import { realTimers, type TimerScheduler } from '../sources/source.js';
import { SerialLine, serialLineSchema, type PortFactory } from './serial-link.js';

// serialport's own mock binding (the CommonJS instance SerialPortMock opens through).
const MockBinding = SerialPortMock.binding;
afterEach(() => MockBinding.reset());

/** Timers whose delays are shrunk 50x (the watchdog's too), so many back-off rounds pass quickly; the order of events is unchanged. */
const fastTimers: TimerScheduler = { ...realTimers, setTimeout: (fn, ms) => setTimeout(fn, Math.max(1, ms / 50)) };

describe('serial line reconnect loop', () => {
  it('keeps retrying through failed opens of every kind, backing off to its cap, and opens once the device is there', async () => {
    const cfg = serialLineSchema.parse({ path: '/dev/ttyMOCK0', reconnectMinMs: 10, reconnectMaxMs: 80 });
    let attempts = 0;
    const hanging = (): SerialPortMock => {
      // An open whose callback never comes (serialport #2043's family): only the watchdog ends it.
      const fake = new EventEmitter() as unknown as SerialPortMock;
      Object.assign(fake, { open: () => {}, isOpen: false, close: () => {} });
      return fake;
    };
    const ports: PortFactory = (c) => {
      attempts++;
      if (attempts <= 4) throw new Error(`cannot open ${c.path}: ENOENT`); // no device yet
      if (attempts <= 6) return hanging();
      if (attempts === 9) MockBinding.createPort(c.path, { echo: false });
      return new SerialPortMock({ path: c.path, baudRate: c.baudRate, autoOpen: false }); // fails until the port exists
    };
    const lines: string[] = [];
    let opened = 0;
    const line = new SerialLine(cfg, { onData: () => {}, onOpen: () => opened++, log: (l) => lines.push(l) }, fastTimers, ports);
    line.start();
    const t0 = Date.now();
    while (!line.isOpen && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
    await line.stop();
    expect(line.isOpen).toBe(false);
    expect(opened).toBe(1);
    expect(attempts).toBeGreaterThanOrEqual(9);
    const gone = lines.filter((l) => l.includes('gone'));
    expect(gone.length).toBe(attempts - 1);
    expect(gone.filter((l) => l.includes(`open did not complete within ${limits.serialOpenTimeoutMs} ms`)).length).toBe(2);
    // Exponential back-off 10, 20, 40, then capped at 80 ms, reset by nothing but an open.
    expect(gone.map((l) => Number(/retrying in (\d+) ms/.exec(l)![1]))).toEqual(Array.from({ length: attempts - 1 }, (_, i) => Math.min(80, 10 * 2 ** i)));
    expect(gone[0]).toMatch(/^serial \/dev\/ttyMOCK0 gone \(cannot open \/dev\/ttyMOCK0: ENOENT\), retrying in 10 ms$/);
  }, 120_000);

  it('refuses writes past its queue bound instead of waiting for drain, and counts them', async () => {
    MockBinding.createPort('/dev/ttyMOCK1', { echo: false });
    const cfg = serialLineSchema.parse({ path: '/dev/ttyMOCK1' });
    const line = new SerialLine(cfg, { onData: () => {}, onOpen: () => {}, log: () => {} }, realTimers, (c) => new SerialPortMock({ path: c.path, baudRate: c.baudRate, autoOpen: false }));
    line.start();
    const t0 = Date.now();
    while (!line.isOpen && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
    const chunk = new Uint8Array(64 * 1024);
    let accepted = 0;
    // Synchronously, without yielding: nothing can drain, so the bound is what stops the writes.
    for (let i = 0; i < 100; i++) if (line.write(chunk)) accepted++;
    expect(accepted).toBe(Math.floor(limits.serialWriteQueueBytesMax / chunk.length));
    expect(line.writesRefused).toBe(100 - accepted);
    await line.stop();
  });
});
