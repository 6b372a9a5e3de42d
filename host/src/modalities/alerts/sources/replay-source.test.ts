import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTimers } from '../../../../../test/support/manual-drive.js';
import { runPython } from '../../../../../test/support/python.js';
import { manualClock } from '../../../core/clock.js';
import { isOperatingError, type HairtriggerError } from '../../../core/errors.js';
import { FrameRing, frameIdString, type FrameSlot } from '../../../core/frame.js';
import { manualTimers } from '../../../core/manual-timers.js';
import { sources } from '../../../sources/registry.js';
import type { Source } from '../../../sources/source.js';
import { decoders } from '../../../codecs/registry.js';
import { slotAlert } from '../types.js';
import '../index.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data', 'alerts');
const SCRIPT = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'test', 'support', 'alert_times.py');

/** [jd, path, index, id, objectId] of every record under `paths`, in observation order, read by Apache Avro's Python reader. */
function reference(...paths: string[]): [number, string, number, string, string][] {
  return runPython([SCRIPT, ...paths])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as [number, string, number, string, string]);
}

/** What a delivered alert carried after the avro decoder ran on it. */
interface Got {
  seq: number;
  id: string | null;
  payload: string;
  sensorNs: number;
  jd: number;
  source: string;
  index: number;
}

/** Builds a source from `config` on a manual clock, runs it to its end under ManualTimers, decodes every frame. */
function runSource(config: Record<string, unknown>) {
  const clock = manualClock(1e9);
  const t = manualTimers();
  const errors: HairtriggerError[] = [];
  const ctx = { clock, timers: t.timers, at: (p: string) => p, log: () => {}, error: (e: HairtriggerError) => errors.push(e) };
  const src: Source = sources.create(config, ctx, 'source');
  const decode = decoders.create({ kind: 'avro' }, { spec: { ...src.spec, labels: [] } }, 'decoder');
  const ring = new FrameRing(1, 1, 16);
  const got: Got[] = [];
  const decodeFailures: HairtriggerError[] = [];
  const push = (s: FrameSlot) => {
    try {
      decode.run(s);
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      decodeFailures.push(err);
      return;
    }
    const a = slotAlert(s);
    got.push({ seq: s.seq, id: frameIdString(s), payload: Buffer.from(s.payload.subarray(0, s.payloadLength)).toString('utf8'), sensorNs: s.sensorNs, jd: a.jd, source: a.source, index: a.index });
  };
  src.start({ acquire: () => ring.acquire(), push });
  runTimers(t, clock);
  expect(t.pending()).toBe(null);
  return { got, errors, decodeFailures, src };
}

describe('alerts source over the real packets', () => {
  for (const folder of ['ztf-4.02-2023-10', 'rubin-9.0-2025-09']) {
    it(`delivers every record of ${folder} exactly once, in observation order (checked against Apache Avro's Python reader)`, { timeout: 120_000 }, () => {
      const dir = join(ALERTS, folder);
      const want = reference(dir);
      const { got, errors, decodeFailures, src } = runSource({ kind: 'alerts', paths: [dir], pacing: 'max' });
      expect(errors).toEqual([]);
      expect(decodeFailures).toEqual([]);
      expect(src.expectedFrames).toBe(want.length);
      expect(got.length).toBe(want.length);
      expect(got.map((g) => [g.jd, g.source, g.index, g.id, g.payload])).toEqual(want);
      expect(got.map((g) => g.seq)).toEqual(want.map((_, k) => k));
      // Sensor time: the jd as ns since the Unix epoch (JD 2440587.5).
      got.forEach((g, k) => expect(g.sensorNs / 86_400e9 + 2440587.5).toBeCloseTo(want[k][0], 6));
      // Fink's folder holds some alerts twice (one copy per topic it distributed them to):
      // each record once means each (file, index) once.
      expect(new Set(got.map((g) => `${g.source}#${g.index}`)).size).toBe(want.length);
    });
  }

  it('merges folders and files of both surveys into one observation order', { timeout: 120_000 }, () => {
    const paths = [join(ALERTS, 'rubin-9.0-2025-09'), join(ALERTS, 'ztf-3.3-2020-01'), join(ALERTS, 'fink-client-ztf', 'avro_multi_alerts.avro')];
    const want = reference(...paths);
    const { got, errors } = runSource({ kind: 'alerts', paths, pacing: 'max' });
    expect(errors).toEqual([]);
    expect(got.map((g) => [g.jd, g.source, g.index, g.id])).toEqual(want.map((w) => w.slice(0, 4)));
  });

  it('counts unreadable files and records, skips them, and replays every good record', { timeout: 120_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-alerts-corrupt-'));
    const good = ['ztf-3.3-2020-01/1095578115815010001.avro', 'ztf-3.3-2020-01/1095578115815010002.avro', 'fink-client-ztf/avro_multi_alerts.avro'];
    for (const g of good) copyFileSync(join(ALERTS, g), join(dir, g.replace('/', '-')));
    const whole = readFileSync(join(ALERTS, 'ztf-3.3-2020-01/1095578115815010003.avro'));
    writeFileSync(join(dir, 'truncated.avro'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(dir, 'not-avro.avro'), Buffer.from('this is not an Avro container file\n'));
    writeFileSync(join(dir, 'empty.avro'), Buffer.alloc(0));
    const want = reference(...good.map((g) => join(ALERTS, g)));
    const { got, errors, decodeFailures } = runSource({ kind: 'alerts', paths: [dir], pacing: { kind: 'burst', alerts: 4, periodS: 30 } });
    expect(decodeFailures).toEqual([]);
    expect(got.map((g) => g.id).sort()).toEqual(want.map((w) => w[3]).sort());
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors.every((e) => e.code === 'E_ALERT_DECODE')).toBe(true);
    for (const f of ['truncated.avro', 'not-avro.avro', 'empty.avro']) expect(errors.some((e) => e.where.includes(f))).toBe(true);
  });
});
