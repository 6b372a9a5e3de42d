#!/usr/bin/python3
"""The keyword front end in numpy: the Python twin of host/src/modalities/audio/mfcc.ts.

MFCC and log-mel exactly as the MLPerf Tiny keyword-spotting benchmark computes them
(mlcommons/tiny, benchmark/training/keyword_spotting/get_dataset.py, feature_type "mfcc",
built on tf.signal): the steps are written out in mfcc.ts. No TensorFlow here: each tf.signal
op is restated in numpy (stft -> frame + hann + rfft, linear_to_mel_weight_matrix,
mfccs_from_log_mel_spectrograms). Computes in float64 and returns float32.

The spec dict is the `preprocessing` object of a keyword model card (default_spec()).

    /usr/bin/python3 models/train/audio_features.py [--spec JSON] [--concat] FILE.wav...

prints {"spec", "files": [{"path", "frames", "width", "features"}]} (features flat,
[frames * width], time-major): what the parity tests compare with the TypeScript side.
--concat: the files one after the other as one stream (one entry, path "concat").
"""

import argparse
import json
import wave

import numpy as np


def default_spec(kind="mfcc"):
    """MLPerf Tiny's front end on 16 kHz int16 PCM: 49 frames of 10 MFCC (or 40 log-mel)."""
    spec = {
        "kind": kind,
        "frame": {"shape": None, "dtype": "int16", "sampleRateHz": 16000},
        "scale": 1 / 32768,
        "window": "hann",
        "windowSamples": 480,
        "hopSamples": 320,
        "fftSize": 512,
        "melBands": 40,
        "lowerHz": 20,
        "upperHz": 4000,
        "logOffset": 1e-6,
        "frames": 49,
        "stride": 1,
    }
    if kind == "mfcc":
        spec["coefficients"] = 10
        spec["input"] = {"shape": [49, 10]}
    else:
        spec["input"] = {"shape": [49, 40]}
    return spec


def hann(n):
    """tf.signal.hann_window(n) (periodic): 0.5 - 0.5 cos(2 pi i / n)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def hz_to_mel(hz):
    """HTK's mel scale, as tf.signal uses it."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_matrix(spec):
    """tf.signal.linear_to_mel_weight_matrix: [fftSize / 2 + 1, melBands], DC row zero."""
    bins = spec["fftSize"] // 2 + 1
    n = spec["melBands"]
    freqs = np.linspace(0.0, spec["frame"]["sampleRateHz"] / 2.0, bins)[1:]
    mel = hz_to_mel(freqs)[:, None]
    edges = np.linspace(hz_to_mel(spec["lowerHz"]), hz_to_mel(spec["upperHz"]), n + 2)
    lower, centre, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    weights = np.maximum(0.0, np.minimum((mel - lower) / (centre - lower),
                                         (upper - mel) / (upper - centre)))
    return np.vstack([np.zeros((1, n)), weights])


def frames_of(samples, spec):
    """tf.signal.frame without padding: [count, windowSamples], count = 1 + (len - win) // hop."""
    win, hop = spec["windowSamples"], spec["hopSamples"]
    count = 0 if len(samples) < win else 1 + (len(samples) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    return np.asarray(samples, dtype=np.float64)[idx] if count else np.zeros((0, win))


def magnitude(samples, spec):
    """|tf.signal.stft(x * scale, win, hop, fftSize, hann_window)|: [frames, fftSize / 2 + 1]."""
    x = frames_of(samples, spec) * spec["scale"] * hann(spec["windowSamples"])
    return np.abs(np.fft.rfft(x, n=spec["fftSize"], axis=-1))


def log_mel(samples, spec):
    """ln(|STFT| . mel_matrix + logOffset): [frames, melBands]."""
    return np.log(magnitude(samples, spec) @ mel_matrix(spec) + spec["logOffset"])


def dct_matrix(coefficients, n):
    """tf.signal.mfccs_from_log_mel_spectrograms: DCT-II / sqrt(2n), [n, coefficients]."""
    k = np.arange(coefficients)[None, :]
    i = np.arange(n)[:, None]
    return np.sqrt(2.0 / n) * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


def features(samples, spec):
    """The spec's features of a whole clip (samples in the stream's units): float32 [frames, width]."""
    lm = log_mel(samples, spec)
    if spec["kind"] == "logmel":
        return lm.astype(np.float32)
    return (lm @ dct_matrix(spec["coefficients"], spec["melBands"])).astype(np.float32)


def read_wav_int16(path):
    """The int16 samples of a mono 16-bit PCM WAV (the clips of ../shared/data/audio) and its rate."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: {w.getnchannels()} channels of {8 * w.getsampwidth()} bits; "
                             "expected mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", help="the preprocessing spec as JSON (default: default_spec())")
    ap.add_argument("--concat", action="store_true", help="the files one after the other as one stream")
    ap.add_argument("wavs", nargs="+")
    args = ap.parse_args(argv)
    spec = json.loads(args.spec) if args.spec else default_spec()
    streams = []
    for path in args.wavs:
        samples, rate = read_wav_int16(path)
        if rate != spec["frame"]["sampleRateHz"]:
            raise SystemExit(f"{path}: {rate} Hz, the spec wants {spec['frame']['sampleRateHz']} Hz")
        streams.append((path, samples))
    if args.concat:
        streams = [("concat", np.concatenate([s for _, s in streams]))]
    out = []
    for path, samples in streams:
        f = features(samples, spec)
        out.append({"path": path, "frames": f.shape[0], "width": f.shape[1],
                    "features": [float(v) for v in f.reshape(-1)]})
    print(json.dumps({"spec": spec, "files": out}))


if __name__ == "__main__":
    main()
