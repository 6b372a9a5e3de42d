import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { monotonicClock } from '../core/clock.js';
import { sources } from './registry.js';
import { realTimers } from './source.js';
import './serial.js';
import './ws-ingest.js';

const ctx = { clock: monotonicClock, timers: realTimers, at: (p: string) => p, log: () => {}, error: () => {} };
const frames = { stream: 's', shape: [4], dtype: 'uint8' };

describe('link source configs', () => {
  it('refuse the block queue policy (a device keeps sending), naming the field', () => {
    for (const source of [{ kind: 'serial', path: '/dev/ttyUSB0' }, { kind: 'ws', listen: '127.0.0.1:9500', token: 'x'.repeat(16) }]) {
      expect(() => sources.create({ ...source, ...frames, queue: { policy: 'block' } }, ctx, 'config: source')).toThrow(ConfigError);
      expect(() => sources.create({ ...source, ...frames, queue: { policy: 'block' } }, ctx, 'config: source')).toThrow(/source\.queue.*drop-newest or drop-oldest/);
    }
  });

  it('fill the line defaults and refuse unknown flow control and short tokens', () => {
    expect(sources.parse({ kind: 'serial', path: '/dev/ttyUSB0', ...frames }, 'config: source')).toMatchObject({ baudRate: 921_600, flowControl: 'none', frameKind: 'frame', heartbeatMs: 1000 });
    expect(() => sources.parse({ kind: 'serial', path: '/dev/ttyUSB0', flowControl: 'dtr', ...frames }, 'config: source')).toThrow(/flowControl/);
    expect(() => sources.parse({ kind: 'ws', listen: '127.0.0.1:9500', token: 'short', ...frames }, 'config: source')).toThrow(/at least 16 characters/);
  });

  it('name a missing or short token file as a config error', () => {
    const ws = { kind: 'ws', listen: '127.0.0.1:9500', ...frames };
    expect(() => sources.create({ ...ws, tokenFile: '/nonexistent/ws-token' }, ctx, 'config: source')).toThrow(/E_CONFIG at source.tokenFile: cannot read \/nonexistent\/ws-token/);
    expect(() => sources.create({ ...ws, tokenFile: import.meta.filename }, ctx, 'config: source')).not.toThrow();
  });

  it('the shipped serial and websocket configs validate', () => {
    const configs = join(import.meta.dirname, '..', '..', 'configs');
    expect(loadConfigFile(join(configs, 'serial-cells-lymphocyte.yaml')).sinks.serial).toMatchObject({ path: '/tmp/ht-sorter', ackTimeoutMs: 50, sendsMax: 4 });
    expect(loadConfigFile(join(configs, 'ws-cells-lymphocyte.yaml')).source).toMatchObject({ kind: 'ws', listen: '127.0.0.1:9500' });
  });
});
