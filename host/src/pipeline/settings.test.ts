import { describe, expect, it } from 'vitest';
import { TriggerPolicy, triggerConfigSchema } from '../trigger/policy.js';
import { describeRoute, describeSource, pipelineSettings } from './settings.js';

describe('pipeline settings', () => {
  it('describe the source by kind, where it reads and its pacing', () => {
    expect(describeSource({ kind: 'replay', path: 'cells.arrows', pacing: 'x2' }, false)).toBe('replay cells.arrows (x2)');
    expect(describeSource({ kind: 'nats', subject: 'alerts.ztf' }, false)).toBe('nats alerts.ztf');
    expect(describeSource({ kind: 'synthetic', seed: 3 }, false)).toBe('synthetic');
    expect(describeSource(undefined, true)).toBe('fpga events (autonomous)');
  });

  it('list the router\'s settings one line each', () => {
    expect(describeRoute({ kind: 'detector', minFrames: 3, thresholds: { yes: 0.8 } })).toEqual(['detector.minFrames: 3', 'detector.thresholds: {"yes":0.8}']);
    expect(describeRoute(undefined)).toEqual([]);
  });

  it('read the trigger settings from the policy params in force (a reload shows at once)', () => {
    const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['b'], threshold: 0.7, holdoffUs: 250, maxRatePerS: 100, burst: 4 }), ['a', 'b'], 50);
    const fixed = { source: { kind: 'replay', path: 'x' }, decoder: 'fixed', autonomous: false, budgetUs: 50, route: undefined };
    const live = { backend: 'sim', model: 'm/student', models: ['m/student', 'm/teacher'], paused: true, replaySpeed: 2 };
    expect(pipelineSettings(fixed, policy.params, live)).toMatchObject({ targets: ['b'], threshold: 0.7, holdoffUs: 250, maxRatePerS: 100, burst: 4, budgetUs: 50, mode: 'host', ...live });
    policy.apply(policy.prepare(triggerConfigSchema.parse({ targets: ['a'], threshold: 0.9 })));
    expect(pipelineSettings(fixed, policy.params, live)).toMatchObject({ targets: ['a'], threshold: 0.9, holdoffUs: 0 });
  });
});
