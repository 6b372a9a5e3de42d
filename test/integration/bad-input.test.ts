import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureWriter } from '../../host/src/capture/arrow-capture.js';
import { loadConfigFile, validateConfig } from '../../host/src/config/schema.js';
import { CaptureFormatError, ConfigError, ModelError } from '../../host/src/core/errors.js';
import { createDaemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { lymphocyteCapture, modelCopy, REPO, replayConfig, runToEnd, SHARED, tempDir, ZOO } from '../support/fixtures.js';

const dir = tempDir('bad');
const LYMPH = join(ZOO, 'cells-lymphocyte');
const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };

describe('bad input is counted, named, and never stops the other frames', () => {
  it('frames of the wrong length and labels out of range are dropped as E_FRAME_SHAPE; the rest are classified', async () => {
    const path = join(dir, 'mixed.arrows');
    const spec = { stream: 'cells-lymphocyte', shape: [48, 48, 1], dtype: 'uint8' as const, labels: ['B', 'T4', 'T8'] };
    const w = new CaptureWriter(path, spec);
    const good = new Uint8Array(48 * 48).fill(180);
    let bad = 0;
    for (let i = 0; i < 300; i++) {
      if (i % 10 === 3) {
        w.append(i, i * 1000, good, 0, 48 * 47, 0); // one row short
        bad++;
      } else if (i % 10 === 7) {
        w.append(i, i * 1000, good, 0, good.length, 9); // no such label
        bad++;
      } else w.append(i, i * 1000, good, 0, good.length, i % 3);
    }
    await w.close();
    const log: string[] = [];
    const d = await runToEnd(replayConfig(LYMPH, path), log);
    const s = d.metrics.snapshot();
    expect(s.frames).toBe(300 - bad);
    expect(s.dropped).toBe(bad);
    expect(s.errorsByCode).toEqual({ E_FRAME_SHAPE: bad });
    const errs = d.errors.recent();
    expect(errs.some((e) => /frame seq 3\b.*2256 bytes.*needs 2304/.test(e.message))).toBe(true);
    expect(errs.some((e) => /frame seq 7\b.*label index 9/.test(e.message))).toBe(true);
    expect(log.length).toBeGreaterThan(0);
  });

  it('NaN and infinite pixels of float frames are dropped as E_FRAME_VALUE; the rest are classified', async () => {
    const model = modelCopy('cells-lymphocyte', dir, (card) => {
      card.preprocessing.frame.dtype = 'float32';
      card.preprocessing.scale = 1;
    });
    const path = join(dir, 'float.arrows');
    const w = new CaptureWriter(path, { stream: 'float-cells', shape: [48, 48, 1], dtype: 'float32', labels: ['B', 'T4', 'T8'] });
    const frame = new Float32Array(48 * 48).fill(0.7);
    const bytes = new Uint8Array(frame.buffer);
    for (let i = 0; i < 100; i++) {
      frame[100] = i % 4 === 1 ? Number.NaN : i % 4 === 2 ? Number.POSITIVE_INFINITY : 0.7;
      w.append(i, null, bytes, 0, bytes.length, -1);
    }
    await w.close();
    const d = await runToEnd(replayConfig(model, path));
    const s = d.metrics.snapshot();
    expect(s.errorsByCode).toEqual({ E_FRAME_VALUE: 50 });
    expect(s.frames).toBe(50);
    expect(d.errors.recent()[0].message).toMatch(/preprocess: frame seq 1\b.*not finite/);
  });

  it('a truncated capture replays every complete batch and counts one E_CAPTURE_FORMAT', async () => {
    const whole = await lymphocyteCapture(dir, 3000, 9);
    const bytes = readFileSync(whole);
    const cut = join(dir, 'cut.arrows');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const d = await runToEnd(replayConfig(LYMPH, cut));
    const s = d.metrics.snapshot();
    expect(s.errorsByCode).toEqual({ E_CAPTURE_FORMAT: 1 });
    expect(s.frames).toBeGreaterThanOrEqual(1024);
    expect(s.frames % 1024).toBe(0);
    expect(d.errors.recent()[0].message).toMatch(/truncated.*recovered/);
  });

  it('a file that is not a capture is refused at start with a CaptureFormatError naming it', async () => {
    const junk = join(dir, 'junk.arrows');
    writeFileSync(junk, 'PK\u0003\u0004 not arrow at all');
    await expect(createDaemon(replayConfig(LYMPH, junk), deps)).rejects.toThrow(CaptureFormatError);
    await expect(createDaemon(replayConfig(LYMPH, junk), deps)).rejects.toThrow(/junk\.arrows/);
  });

  it('a capture whose frames do not fit the model is refused with a ConfigError naming both shapes', async () => {
    const capture = await lymphocyteCapture(dir, 10);
    await expect(createDaemon(replayConfig(join(ZOO, 'cells-bccd'), capture, { trigger: { targets: ['WBC'] } }), deps)).rejects.toThrow(/\[48, 48, 1\] uint8.*expects \[32, 32, 3\] uint8/);
  });

  it('a model file that is not ONNX is refused with a ModelError naming the file', async () => {
    const model = modelCopy('cells-lymphocyte', dir);
    writeFileSync(join(model, 'student.onnx'), 'definitely not protobuf');
    const capture = await lymphocyteCapture(dir, 10);
    await expect(createDaemon(replayConfig(model, capture), deps)).rejects.toThrow(ModelError);
    await expect(createDaemon(replayConfig(model, capture), deps)).rejects.toThrow(/student\.onnx.*not a loadable ONNX model/);
  });

  it('a model with the wrong input shape is refused with a ModelError giving both shapes', async () => {
    const model = modelCopy('cells-lymphocyte', dir);
    copyFileSync(join(SHARED, 'models', 'hls4ml-examples', 'three_layer_keras.onnx'), join(model, 'student.onnx'));
    const capture = await lymphocyteCapture(dir, 10);
    await expect(createDaemon(replayConfig(model, capture), deps)).rejects.toThrow(/has shape \[1, 16\], the pipeline feeds \[1, 1, 48, 48\]/);
  });

  it('a config with an unknown key is refused with a ConfigError naming the key and the allowed ones', () => {
    const path = join(dir, 'typo.yaml');
    writeFileSync(path, 'model: models/zoo/cells-lymphocyte\nsource: {kind: synthetic}\ntrigger: {targets: [B], treshold: 0.5}\n');
    expect(() => loadConfigFile(path)).toThrow(ConfigError);
    expect(() => loadConfigFile(path)).toThrow(/trigger.*"treshold".*allowed keys: targets, threshold/);
  });

  it('a config with a bad value names the field, the value and what is allowed', () => {
    expect(() => validateConfig({ model: 'm', source: { kind: 'replay', path: 'x', pacing: 'fast' }, trigger: { targets: ['B'] } })).toThrow(/source\.pacing: value "fast"/);
    expect(() => validateConfig({ model: 'm', source: { kind: 'synthetic' }, trigger: { targets: ['B'], threshold: 2 } })).toThrow(/trigger\.threshold: value 2/);
  });

  it('the shipped configs validate', () => {
    for (const f of ['default.yaml', 'cells-lymphocyte.yaml']) expect(() => loadConfigFile(join(REPO, 'host', 'configs', f))).not.toThrow();
  });
});
