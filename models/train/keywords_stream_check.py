#!/usr/bin/python3
"""A quick look at a keyword model on a continuous stream: MLPerf Tiny's wake-word test
(`short_wav_easy10s.wav`, three real "marvin" utterances over classical music). It slides the
1 s window every hop (20 ms) over the stream, runs the shared front end (audio_features.py)
and the student ONNX (onnx_check.py, numpy) on each window, and prints the marvin posterior's
peak near each labelled utterance and its peak elsewhere. Not the official scorer (that is
host-side, TypeScript); a check while training. The stream is test data: never train on it.

    /usr/bin/python3 models/train/keywords_stream_check.py --model models/zoo/keywords \
        --wav ../shared/data/audio/mlperf-tiny-wakeword/short_wav_easy10s.wav \
        --labels ../shared/data/audio/mlperf-tiny-wakeword/sww_short_test.json

A window is attributed to the time of its last sample (when a stream would see it). Windows
ending within [start, end + 1 s) of an utterance contain some of it ("near"); the rest is
"elsewhere". Prints JSON.
"""
import argparse
import json
import os

import numpy as np

import audio_features
import keywords_data
import onnx_check

WORD = "marvin"


def posteriors(graph, samples, spec, hop):
    """(window end times in s, softmax [windows, labels]) over the stream, one window per hop."""
    rate, n = spec["frame"]["sampleRateHz"], spec["frame"]["sampleRateHz"]
    starts = range(0, len(samples) - n + 1, hop)
    x = np.stack([np.asarray(audio_features.features(samples[s:s + n], spec), dtype=np.float32) for s in starts])
    logits = onnx_check.run_student(graph, x.reshape(len(x), 1, spec["frames"], -1))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.array([(s + n) / rate for s in starts]), e / e.sum(axis=1, keepdims=True)


def summarise(times, p, windows):
    """Peak posterior (and its time) near each utterance and elsewhere."""
    near = np.zeros(len(times), dtype=bool)
    out = {"utterances": []}
    for start, end in windows:
        m = (times >= start) & (times < end + 1.0)
        near |= m
        i = int(np.flatnonzero(m)[np.argmax(p[m])])
        out["utterances"].append({"window": [start, round(end, 3)], "peak": round(float(p[i]), 4),
                                  "atS": round(float(times[i]), 2)})
    i = int(np.flatnonzero(~near)[np.argmax(p[~near])])
    out["elsewhere"] = {"peak": round(float(p[i]), 4), "atS": round(float(times[i]), 2)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="a zoo folder with student.onnx and card.json")
    ap.add_argument("--wav", required=True)
    ap.add_argument("--labels", required=True, help="sww_short_test.json (detection_windows)")
    a = ap.parse_args()
    with open(os.path.join(a.model, "card.json")) as f:
        card = json.load(f)
    spec = card["preprocessing"]
    samples, rate = keywords_data.read_wav(a.wav)  # the stream is stereo: its channels' mean
    assert rate == spec["frame"]["sampleRateHz"], f"{a.wav}: {rate} Hz"
    with open(a.labels) as f:
        windows = json.load(f)[0]["detection_windows"]
    times, p = posteriors(onnx_check.read(os.path.join(a.model, "student.onnx")), samples, spec, spec["hopSamples"])
    top = p.argmax(axis=1)
    out = summarise(times, p[:, card["labels"].index(WORD)], windows)
    out["top1Windows"] = {card["labels"][k]: int(v) for k, v in enumerate(np.bincount(top, minlength=len(card["labels"]))) if v}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
