import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSimBackend } from '../../host/src/backends/sim.js';
import type { Backend } from '../../host/src/backends/backend.js';
import { readModelCard } from '../../host/src/model/card.js';
import { mfccSpecSchema } from '../../host/src/modalities/audio/mfcc.js';
import { feed } from '../../host/src/modalities/audio/testing.js';
import { readWav } from '../../host/src/modalities/audio/wav.js';
import { REPO, SHARED } from '../support/fixtures.js';
import { backends } from '../../host/src/backends/registry.js';
import '../../host/src/backends/builtins.js';
import { loadConfigFile } from '../../host/src/config/schema.js';
import { realTimers } from '../../host/src/sources/source.js';
import { ConfigError } from '../../host/src/core/errors.js';

/**
 * The simulator's sliding windows (hls/nnet/nnet_shift_reuse.h, hls/compiler/writer-reuse.ts)
 * against the whole firmware, on real audio: MLPerf Tiny's 10 s wake-word stream (marvin over
 * music) through the serving front end, one model window a hop, and the zoo's keyword students
 * as `make firmware` builds them. A backend with `slidingWindows` must give every logit bit for
 * bit as one without, and must really have reused rows (a count the library keeps), at the
 * cadences a keyword config uses (inference every hop, every 2nd: the DS-CNN's stride is 2, so
 * a stream keeps two states), and when windows of two streams alternate through one backend.
 */
const WAKEWORD = join(SHARED, 'audio', 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav');

type Sim = Backend & { readonly sliding: boolean; reusedPredictions(): number };

function windows(folder: string, path: string): { frames: Float32Array[]; lib: string; card: ReturnType<typeof readModelCard> } {
  const card = readModelCard(join(REPO, 'models', 'zoo', folder));
  const spec = mfccSpecSchema.parse(card.preprocessing);
  const frames = feed(spec, readWav(path).samples, [160]).map((f) => f.x);
  const lib = join(REPO, 'hls', 'build', `${folder.replace(/-/g, '_')}_student`, `lib${folder.replace(/-/g, '_')}_student.so`);
  return { frames, lib, card };
}

function backend(lib: string, card: ReturnType<typeof readModelCard>, sliding: boolean): Sim {
  return loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length, slidingWindows: sliding }) as Sim;
}

/** The library's input type (ht_model_info): W and I bits. */
function inputType(b: Backend): { w: number; i: number } {
  const m = (b as unknown as { model: { info(): { inWidth: number; inInt: number } } }).model.info();
  return { w: m.inWidth, i: m.inInt };
}

/**
 * How many of `xs` the library may compute from an earlier window, restated from
 * ht_model_abi.h: two states (the DS-CNN's height stride), each holding its last input
 * quantised to the input type (AP_TRN, AP_SAT: floor, clamp); a window whose first rows equal
 * a state's rows 2 on is reused, else it goes to the state used longest ago.
 */
function expectedReuses(xs: readonly Float32Array[], shape: readonly number[], t: { w: number; i: number }): number {
  const [c, h, w] = shape as [number, number, number];
  const shift = 2;
  const lo = -(2 ** (t.w - 1));
  const hi = 2 ** (t.w - 1) - 1;
  const q = (x: Float32Array) => Int32Array.from(x, (v) => Math.min(hi, Math.max(lo, Math.floor(v * 2 ** (t.w - t.i)))));
  const states: { x: Int32Array | null; used: number }[] = [{ x: null, used: 0 }, { x: null, used: 0 }];
  let reused = 0;
  xs.forEach((x, call) => {
    const r = q(x);
    const moved = (p: Int32Array) => {
      for (let ch = 0; ch < c; ch++) for (let k = 0; k < (h - shift) * w; k++) if (r[ch * h * w + k] !== p[ch * h * w + shift * w + k]) return false;
      return true;
    };
    let k = states.findIndex((s) => s.x !== null && moved(s.x));
    if (k >= 0) reused++;
    else k = states[0]!.used <= states[1]!.used ? 0 : 1;
    states[k] = { x: r, used: call + 1 };
  });
  return reused;
}

function logits(b: Backend, frames: readonly Float32Array[], n: number): Float32Array[] {
  return frames.map((x) => {
    const y = new Float32Array(n);
    b.predict(x, y);
    return y;
  });
}

describe.each(['keywords', 'keywords-w24'])('sliding windows on sim, student %s, the wake-word stream', (folder) => {
  const { frames, lib, card } = windows(folder, WAKEWORD);
  const n = card.labels.length;

  it('has a model window every 20 ms hop of the 10 s stream', () => {
    // 10 s at 16 kHz: a window of 49 hops is full after 49 * 320 + 160 samples, then one a hop.
    expect(frames.length).toBeGreaterThan(440);
    expect(frames[0]!.length).toBe(card.inputShape.reduce((a, b) => a * b, 1));
  });

  for (const cadence of [1, 2, 3]) {
    it(`inference every ${cadence} hop(s): every logit equals the whole firmware's, and rows were reused where the stride allows`, async () => {
      const picked = frames.filter((_, i) => i % cadence === 0);
      const whole = backend(lib, card, false);
      const sliding = backend(lib, card, true);
      try {
        expect(whole.sliding).toBe(false);
        expect(sliding.sliding).toBe(true);
        const want = logits(whole, picked, n);
        const got = logits(sliding, picked, n);
        expect(got.map((y) => Array.from(y))).toEqual(want.map((y) => Array.from(y)));
        // Stride 2: windows 2 hops apart share rows. Every hop, the stream's two states
        // alternate (the first window of each is computed whole); every 3rd hop only windows
        // whose quantised content happens to match (runs of silent frames) are reused.
        expect(sliding.reusedPredictions()).toBe(expectedReuses(picked, card.inputShape, inputType(whole)));
        if (cadence === 1) expect(sliding.reusedPredictions()).toBe(picked.length - 2);
        if (cadence === 2) expect(sliding.reusedPredictions()).toBe(picked.length - 1);
        if (cadence === 3) expect(sliding.reusedPredictions()).toBeLessThan(picked.length / 2);
      } finally {
        await whole.close();
        await sliding.close();
      }
    });
  }

  it('two streams alternating through one backend: the same logits, each state still reused', async () => {
    // Stream a: the even hops of the first 4 s; stream b: the odd hops 4 s later. Interleaved
    // a, b, a, b: each stream's windows move by the stride, and the two states serve one each.
    const m = 200;
    const mixed = Array.from({ length: m }, (_, i) => frames[i % 2 === 0 ? i : i + 201]!);
    const whole = backend(lib, card, false);
    const sliding = backend(lib, card, true);
    try {
      expect(logits(sliding, mixed, n).map((y) => Array.from(y))).toEqual(logits(whole, mixed, n).map((y) => Array.from(y)));
      expect(sliding.reusedPredictions()).toBe(expectedReuses(mixed, card.inputShape, inputType(whole)));
      expect(sliding.reusedPredictions()).toBeGreaterThanOrEqual(m - 2);
    } finally {
      await whole.close();
      await sliding.close();
    }
  });
});

describe('which sim backends slide (config sim.slidingWindows)', () => {
  const at = (p: string) => p;
  const create = async (folder: string, cfgPatch: Record<string, unknown>) => {
    const card = readModelCard(join(REPO, 'models', 'zoo', folder));
    const cfg = { ...loadConfigFile(join(REPO, 'host', 'configs', 'keywords-mic.yaml')), model: join(REPO, 'models', 'zoo', folder), ...cfgPatch };
    const ref = { path: card.files.student!, inputShape: card.inputShape, classes: card.labels.length };
    return backends.create({ kind: cfg.backend }, { card, cfg, ref, at, firmwareDir: join(REPO, 'hls', 'build'), timers: realTimers }, 'config: backend');
  };

  it('a keyword model on sim slides by default and not when the config says false; a cell model never', async () => {
    const on = (await create('keywords', { backend: 'sim' })) as Sim;
    const off = (await create('keywords', { backend: 'sim', sim: { slidingWindows: false } })) as Sim;
    const cells = (await create('cells-bccd', { backend: 'sim' })) as Sim;
    expect([on.sliding, off.sliding, cells.sliding]).toEqual([true, false, false]);
    await Promise.all([on.close(), off.close(), cells.close()]);
  });

  it('sim: on another backend is a ConfigError naming it', async () => {
    const err = await create('keywords', { backend: 'onnx', sim: { slidingWindows: true } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/config: sim.*backend is onnx/);
  });
});
