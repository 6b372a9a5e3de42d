import { describe, expect, it } from 'vitest';
import { limits } from '../core/limits.js';
import { healthReport, HealthMonitor, type HealthInputs } from './health.js';

const running: HealthInputs = { pipeline: 'p', state: 'running', sourceKind: 'stream', sourceEnded: false, backendKind: 'sim', backendLoaded: true, backendFaulted: false };
const stepNs = limits.healthSampleIntervalMs * 1e6;

describe('health monitor', () => {
  it('is up on a running pipeline with frames flowing and no failures', () => {
    const m = new HealthMonitor({ frameAgeMaxS: 2, errorRatioMax: 0.5 });
    for (let i = 0; i < 5; i++) m.sample(i * stepNs, i * 100, 0);
    const h = m.report(4 * stepNs, running);
    expect(h).toMatchObject({ up: true, reasons: [], frames: 400, failed: 0, errorRatio: 0, lastFrameAgeS: 0 });
    expect(healthReport(1, [h]).status).toBe('up');
  });

  it('judges the error ratio over the last window only, as counted by hand', () => {
    const m = new HealthMonitor({ frameAgeMaxS: null, errorRatioMax: 0.25 });
    const samplesPerWindow = (limits.healthWindowS * 1000) / limits.healthSampleIntervalMs;
    // A bad start (every frame failing), then a window and more of clean frames.
    let decided = 0;
    let failed = 0;
    for (let i = 0; i <= 3 * samplesPerWindow; i++) {
      if (i <= samplesPerWindow) failed += 10;
      else decided += 10;
      m.sample(i * stepNs, decided, failed);
      if (i === samplesPerWindow) {
        const bad = m.report(i * stepNs, running);
        // Over the window: failed went from 10 to 10 * (window + 1), nothing decided.
        expect(bad.errorRatio).toBe(1);
        expect(bad.up).toBe(false);
        expect(bad.reasons[0]).toMatch(/100\.0% of the frames of the last 10 s failed, more than server\.health\.errorRatioMax 0\.25/);
      }
    }
    const later = m.report(3 * samplesPerWindow * stepNs, running);
    expect(later.errorRatio).toBe(0);
    expect(later.up).toBe(true);
  });

  it('goes down when no frame came for longer than frameAgeMaxS, and when the source ended or failed', () => {
    const m = new HealthMonitor({ frameAgeMaxS: 1.5, errorRatioMax: 0.5 });
    expect(m.report(0, running).reasons).toEqual(['no frame yet (server.health.frameAgeMaxS 1.5 s)']);
    m.sample(0, 5, 0);
    for (let i = 1; i <= 4; i++) m.sample(i * stepNs, 5, 0); // nothing new for 2 s
    const stale = m.report(4 * stepNs, running);
    expect(stale.lastFrameAgeS).toBe((4 * stepNs) / 1e9);
    expect(stale.reasons).toEqual([`last frame ${(4 * stepNs) / 1e9} s ago, more than server.health.frameAgeMaxS 1.5 s`]);
    expect(m.report(4 * stepNs, { ...running, sourceEnded: true }).reasons).toContain('source stream ended');
    expect(m.report(4 * stepNs, { ...running, source: { up: false, detail: 'cannot listen on 127.0.0.1:1: EACCES' } }).reasons).toContain('source stream: cannot listen on 127.0.0.1:1: EACCES');
    expect(healthReport(1, [stale]).status).toBe('down');
  });

  it('is down while starting and stopping, and with a faulted device', () => {
    const m = new HealthMonitor({ frameAgeMaxS: null, errorRatioMax: 0.5 });
    expect(m.report(0, { ...running, state: 'starting', backendLoaded: false }).reasons).toEqual(['pipeline starting', 'backend sim not loaded']);
    expect(m.report(0, { ...running, state: 'stopping' }).up).toBe(false);
    expect(m.report(0, { ...running, backendKind: 'fpga', backendFaulted: true }).reasons).toEqual(['backend fpga: device faulted (not answering)']);
  });
});
