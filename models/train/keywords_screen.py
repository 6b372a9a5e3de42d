#!/usr/bin/python3
"""A fast screen of a keyword model's streaming detector while training (issue 11): the float
model (a torch module, or a zoo folder's student.onnx through onnx_check.py) on the validation
speakers' stream of keywords_detector.py and on a keyword-free music stream, for the detector
grid keywords_detector.py tries (smoothing x threshold, 1 s debounce), scored by MLPerf Tiny's
streaming rules (a port of host/src/modalities/audio/score.ts `scoreStream`). Not the card's
figures: those come from keywords_detector.py (the real CLI, the compiled student on sim); this
is a way to reject a candidate in seconds that would fire on music.

    /usr/bin/python3 models/train/keywords_screen.py --model models/zoo/keywords \
        --shared ../shared/data/audio --music build/kw-music/streams/music.wav

The stream's MFCC frames are computed once and every hop's window is 49 consecutive frames (the
front end is frame-wise: the same as each window's own features). A window's time is its last
sample's. Prints JSON: the best setting by true positives less false alarms (music included),
the row of 12 hops / 0.8 (the width-48 card's setting) and, with --grid, the whole grid.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio_features  # noqa: E402
import keywords_data as kd  # noqa: E402
import keywords_detector  # noqa: E402

SMOOTH = keywords_detector.SMOOTH
THRESHOLDS = keywords_detector.THRESHOLDS
TARGETS = kd.KEYWORDS + ["marvin"]


def windows(samples, spec):
    """(window end times in s, float32 [hops, 1, frames, coefficients]) over a stream."""
    f = audio_features.features(samples, spec)
    n = spec["frames"]
    idx = np.arange(len(f) - n + 1)[:, None] + np.arange(n)[None, :]
    ends = (idx[:, -1] * spec["hopSamples"] + spec["windowSamples"]) / spec["frame"]["sampleRateHz"]
    return ends, f[idx][:, None, :, :]


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def detections(times, probs, labels, smooth, threshold, debounce_s=1.0):
    """The detector router's triggers (host/src/trigger/detector.ts): (time s, word)."""
    k = [labels.index(w) for w in TARGETS]
    c = np.cumsum(np.vstack([np.zeros((1, probs.shape[1])), probs]), axis=0)
    i = np.arange(len(probs))
    lo = np.maximum(i + 1 - smooth, 0)
    mean = (c[i + 1] - c[lo]) / (i + 1 - lo)[:, None]
    p = mean[:, k]
    best = p.argmax(axis=1)
    fire = p[i, best] >= threshold
    out, last = [], -np.inf
    for j in np.flatnonzero(fire):
        if times[j] - last <= debounce_s + 1e-9:
            continue
        last = times[j]
        out.append((float(times[j]), TARGETS[best[j]]))
    return out


def score(truth, dets, after_s=1.0, debounce_s=1.0):
    """MLPerf Tiny's streaming rules (score.ts scoreStream): (true positives, misses, false alarms)."""
    left = sorted(dets)
    tp = 0
    for start, end, word in sorted(truth):
        hit = [d for d in left if start - 1e-9 <= d[0] <= end + after_s + 1e-9 and d[1] == word]
        tp += bool(hit)
        left = [d for d in left if d not in hit]
    fa, last = 0, None
    for t, _ in left:
        if last is None or t - last > debounce_s + 1e-9:
            fa, last = fa + 1, t
    return tp, len(truth) - tp, fa


def screen(predict, labels, shared, music, spec=None):
    """The grid on the validation stream and the music: `predict` maps float32 windows to logits."""
    spec = spec or audio_features.default_spec("mfcc")
    with tempfile.TemporaryDirectory() as tmp:
        wav, truth_path = keywords_detector.build_stream(shared, "val", tmp)
        samples, _ = kd.read_wav(wav)
        with open(truth_path) as f:
            truth = [tuple(w) for w in json.load(f)[0]["detection_windows"]]
    t_val, x_val = windows(samples, spec)
    p_val = softmax(predict(x_val))
    music_samples, _ = kd.read_wav(music)
    t_mus, x_mus = windows(music_samples, spec)
    p_mus = softmax(predict(x_mus))
    rows = []
    for s in SMOOTH:
        for th in THRESHOLDS:
            tp, miss, fa = score(truth, detections(t_val, p_val, labels, s, th))
            mfa = len(detections(t_mus, p_mus, labels, s, th))
            rows.append({"smooth": s, "threshold": th, "tp": tp, "misses": miss, "fa": fa, "musicFa": mfa,
                         "net": tp - fa - mfa})
    best = max(rows, key=lambda r: (r["net"], r["smooth"], r["threshold"]))
    shipped = next(r for r in rows if r["smooth"] == 12 and r["threshold"] == 0.8)
    clean = [r for r in rows if r["musicFa"] == 0]
    return {"best": best, "bestNoMusicFa": max(clean, key=lambda r: (r["net"], r["smooth"], r["threshold"])) if clean else None,
            "s12t08": shipped, "musicSeconds": round(len(music_samples) / 16000, 1), "keywords": len(truth), "grid": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a zoo folder (student.onnx, card.json)")
    ap.add_argument("--shared", required=True, help="../shared/data/audio")
    ap.add_argument("--music", required=True, help="a keyword-free stream (hairtrigger keywords-streaming --seed 2)")
    ap.add_argument("--grid", action="store_true", help="print the whole grid too")
    a = ap.parse_args()
    import onnx_check
    with open(os.path.join(a.model, "card.json")) as f:
        card = json.load(f)
    graph = onnx_check.read(os.path.join(a.model, "student.onnx"))

    def predict(x):
        return np.concatenate([onnx_check.run_student(graph, x[i:i + 2048]) for i in range(0, len(x), 2048)])

    out = screen(predict, card["labels"], a.shared, a.music, card["preprocessing"])
    if not a.grid:
        out.pop("grid")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
