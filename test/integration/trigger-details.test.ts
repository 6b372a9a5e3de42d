/**
 * The detail view of recent triggers (`DaemonView.triggerDetail`, `GET /api/triggers/:run/:seq`)
 * for each modality, through the pipeline as a config builds it, against independent truths:
 * a cell's crop against the recording read with apache-arrow directly; an alert's objectId,
 * cutouts and light curve against Apache Avro's Python reader and astropy on the same packet
 * (test/support/alert_detail_reference.py); a keyword window's features against the numpy
 * front end training uses (models/train/audio_features.py) on the same stream.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { validateConfig, type PipelineConfig } from '../../host/src/config/schema.js';
import { limits } from '../../host/src/core/limits.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import type { TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { systemClock } from '../../host/src/native/addon.js';
import type { TriggerView } from '../../host/src/server/api-types.js';

type AlertView = Extract<TriggerView, { kind: 'alert' }>;
import { realTimers } from '../../host/src/sources/source.js';
import { REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

const dir = tempDir('details');

/** Runs `cfg` to the end of its source; returns the daemon (stopped: its ring drained) and every record it wrote. */
async function runCollecting(cfg: PipelineConfig): Promise<{ daemon: Daemon; events: TriggerEvent[] }> {
  const daemon = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, runId: 'details-test', baseDir: REPO, onBug: (e) => { throw e; } });
  const events: TriggerEvent[] = [];
  daemon.view.onTriggers((batch) => events.push(...batch));
  daemon.start();
  await daemon.sourceDone;
  await daemon.stop();
  return { daemon, events };
}

/** The views of the newest records that are still kept; checks that every older one is gone. */
function keptViews<K extends TriggerView['kind']>(daemon: Daemon, events: TriggerEvent[], kind: K): Array<{ event: TriggerEvent; view: Extract<TriggerView, { kind: K }> }> {
  const kept = events.slice(-limits.triggerDetailsMax);
  for (const e of events.slice(0, -limits.triggerDetailsMax)) expect(daemon.view.triggerDetail!(e.run, e.seq), `seq ${e.seq} left the ring`).toBeNull();
  return kept.map((e) => {
    const d = daemon.view.triggerDetail!(e.run, e.seq);
    expect(d?.event).toEqual(e);
    expect(d?.view.kind).toBe(kind);
    return { event: e, view: d!.view as Extract<TriggerView, { kind: K }> };
  });
}

describe('trigger details through the pipeline', () => {
  it('cells: the crop of each kept trigger is the frame of that seq in the recording, byte for byte', async () => {
    const capture = join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows');
    const cfg = validateConfig({ pipeline: 'cells', model: join(ZOO, 'cells-bccd'), backend: 'sim', source: { kind: 'replay', path: capture, pacing: 'max' }, trigger: { targets: ['WBC'], threshold: 0.5 }, server: { enabled: false } });
    const { daemon, events } = await runCollecting(cfg);
    expect(events.length).toBeGreaterThan(limits.triggerDetailsMax);
    const table = tableFromIPC(readFileSync(capture));
    const frameOf = new Map<number, Uint8Array>();
    const seqs = table.getChild('seq')!.toArray() as BigInt64Array;
    const frames = table.getChild('frame')!;
    for (let i = 0; i < table.numRows; i++) frameOf.set(Number(seqs[i]), frames.get(i) as Uint8Array);
    const shape = JSON.parse(table.schema.metadata.get('hairtrigger.shape')!) as number[];
    for (const { event, view } of keptViews(daemon, events, 'image')) {
      expect([view.height, view.width, view.channels]).toEqual(shape);
      expect(view.pixels).toEqual(Array.from(frameOf.get(event.seq)!));
    }
  }, 300_000);

  for (const [survey, folderName] of [['ZTF 4.02', 'ztf-4.02-2023-10'], ['Rubin 9.0', 'rubin-9.0-2025-09']] as const) {
    it(`alerts (${survey}): objectId, cutouts and light curve of each kept trigger are what Avro's Python reader and astropy read from the same packet`, async () => {
      const folder = join(SHARED, 'alerts', folderName);
      const model = join(ZOO, 'alerts-transient');
      const labels = (JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')) as { labels: string[] }).labels;
      // Every class a target at threshold 0: every alert fires, so the ring holds the last 64.
      const cfg = validateConfig({ pipeline: 'alerts', model, backend: 'sim', budgetUs: 60e6, source: { kind: 'alerts', paths: [folder], pacing: 'max' }, decoder: { kind: 'avro' }, trigger: { targets: labels, threshold: 0, holdoffUs: 0, maxRatePerS: 1e7, burst: 1e6 }, server: { enabled: false } });
      const { daemon, events } = await runCollecting(cfg);
      expect(events.length).toBeGreaterThan(limits.triggerDetailsMax);
      const kept = keptViews(daemon, events, 'alert');
      const want = new Map(
        runPython([join(REPO, 'test', 'support', 'alert_detail_reference.py'), kept.map((k) => k.event.id).join(','), folder])
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { id: string; objectId: string; cutouts: AlertView['cutouts']; lightcurve: Array<{ band: string; mjd: number[]; mag: number[]; magErr: Array<number | null> }> })
          .map((r) => [r.id, r]),
      );
      expect(want.size).toBe(kept.length);
      for (const { event, view } of kept) {
        const ref = want.get(event.id!)!;
        expect(view.objectId).toBe(ref.objectId);
        expect(event.payload).toEqual({ objectId: ref.objectId });
        expect(view.cutouts.map((c) => c.name)).toEqual(['science', 'template', 'difference']);
        expect(view.cutouts).toEqual(ref.cutouts);
        expect(view.lightcurve.map((b) => [b.band, b.mjd.length])).toEqual(ref.lightcurve.map((b) => [b.band, b.mjd.length]));
        view.lightcurve.forEach((b, i) => {
          const r = ref.lightcurve[i]!;
          // Through float32 microjansky and back: a few 1e-7 mag.
          b.mjd.forEach((v, k) => expect(Math.abs(v - r.mjd[k]!)).toBeLessThan(1e-9));
          b.mag.forEach((v, k) => expect(Math.abs(v - r.mag[k]!)).toBeLessThan(1e-5));
          b.magErr.forEach((v, k) => (r.magErr[k] === null ? expect(v).toBeNaN() : expect(Math.abs(v - r.magErr[k]!)).toBeLessThan(1e-5)));
        });
      }
    }, 300_000);
  }

  it('keywords: the features of each kept trigger are numpy\'s MFCC rows of that window of the stream', async () => {
    // 30 real "yes" clips back to back in one 16 kHz mono WAV.
    const yes = join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark', 'yes');
    const clips = readdirSync(yes).filter((f) => f.endsWith('.wav')).sort().slice(0, 30).map((f) => readWav(join(yes, f)));
    expect(clips.every((c) => c.sampleRateHz === 16_000 && c.channels === 1)).toBe(true);
    const samples = Int16Array.from(clips.flatMap((c) => Array.from(c.samples)));
    const wav = join(dir, 'yes30.wav');
    writeFileSync(wav, wavFile(samples));
    const model = join(ZOO, 'keywords');
    const cfg = validateConfig({ pipeline: 'keywords', model, backend: 'sim', budgetUs: 60e6, source: { kind: 'wav', path: wav, pacing: 'max' }, trigger: {}, server: { enabled: false } });
    const { daemon, events } = await runCollecting(cfg);
    // Most of the 30 clips fire (27 measured), each a window compared below.
    expect(events.length).toBeGreaterThan(10);
    const spec = (JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')) as { preprocessing: { frames: number; coefficients: number; hopSamples: number; windowSamples: number; stride: number } }).preprocessing;
    expect(spec.stride).toBe(1);
    const [want] = JSON.parse(runPython([join(TRAIN, 'audio_features.py'), '--spec', JSON.stringify(spec), wav])).files as { frames: number; width: number; features: number[] }[];
    const width = spec.coefficients;
    for (const { event, view } of keptViews(daemon, events, 'spectrogram')) {
      expect([view.frames, view.bins, view.feature]).toEqual([spec.frames, width, 'MFCC']);
      // Model frame seq k holds hops k .. k + 48; its end in the stream is that of hop k + 48.
      const lastHop = event.seq + spec.frames - 1;
      expect(view.streamMs).toBeCloseTo(((lastHop * spec.hopSamples + spec.windowSamples) / 16_000) * 1000, 6);
      const rows = want!.features.slice(event.seq * width, (event.seq + spec.frames) * width);
      expect(rows.length).toBe(spec.frames * width);
      // Both sides compute in float64 and round to float32 (mfcc-parity.test.ts): two float32 steps.
      view.values.forEach((v, k) => expect(Math.abs(v - rows[k]!), `value ${k} of seq ${event.seq}`).toBeLessThanOrEqual(2 ** -22 * Math.max(1, Math.abs(rows[k]!))));
    }
  }, 300_000);
});

/** A 16 kHz mono 16-bit PCM WAV of `samples` (the canonical 44-byte header). */
function wavFile(samples: Int16Array): Buffer {
  const data = samples.length * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16_000, 24);
  b.writeUInt32LE(32_000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(data, 40);
  Buffer.from(samples.buffer, samples.byteOffset, data).copy(b, 44);
  return b;
}
