import lsr from '@alexanderolsen/libsamplerate-js';

/** The rate the keyword front end takes (MLPerf Tiny's keyword benchmark: 16 kHz). */
export const KEYWORD_RATE_HZ = 16_000;

/**
 * Resamples mono int16 `samples` from `fromHz` to `toHz` with libsamplerate's best sinc
 * converter (SRC_SINC_BEST_QUALITY: a windowed-sinc band-limited interpolator, about 97 dB of
 * stop-band rejection, its pass band to 96% of the lower Nyquist frequency), run as
 * WebAssembly (`@alexanderolsen/libsamplerate-js`). Samples are scaled to [-1, 1) and back,
 * rounded half up and clipped. The same rate returns a copy. Asynchronous because the
 * WebAssembly module loads so; files are resampled once, before their stream starts.
 */
export async function resampleInt16(samples: Int16Array, fromHz: number, toHz: number): Promise<Int16Array> {
  if (fromHz === toHz) return samples.slice();
  const src = await lsr.create(1, fromHz, toHz, { converterType: lsr.ConverterType.SRC_SINC_BEST_QUALITY });
  try {
    const x = new Float32Array(samples.length);
    for (let i = 0; i < x.length; i++) x[i] = samples[i] / 32768;
    const y = src.simple(x);
    const out = new Int16Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const v = Math.round(y[i] * 32768);
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return out;
  } finally {
    src.destroy();
  }
}
