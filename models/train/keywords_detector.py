"""Chooses the keyword card's streaming detector settings on the VALIDATION speakers.

A stream of every validation clip (keywords_data.py's speaker split, seed 1), each one second
centred and followed by a second of silence, in a seeded order, is replayed through the real
CLI (`hairtrigger replay --route`, the student on `sim`) for each setting of the detector
(smoothing frames x threshold; debounce 1 s as MLPerf's streaming benchmark) and scored by
`hairtrigger score-keywords` (MLPerf Tiny's streaming wake-word rules, a window per keyword
clip with its word). The setting with the most true positives less false alarms is printed
as the card's `trigger.detector` (tasks.py "trigger_detector" holds the chosen one), with a
threshold per keyword: at the chosen smoothing, for each keyword the threshold of the grid whose
replay gave that keyword's triggers the most true positives less false alarms (`score-keywords
--word`; on a tie the higher threshold), checked by one more replay with them all. The test
speakers stay out of it: test/integration/keywords-stream.test.ts scores them.

    python3 models/train/keywords_detector.py --shared ../shared/data/audio --out build/kw-detector \
        [--music build/kw-music/streams/music.wav]

With `--music` (the music stream of `hairtrigger keywords-streaming --seed 2 --minutes 1 --out
build/kw-music`: a seed the card's streams do not use), the false alarms on it count too.
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keywords_data as kd  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RATE = 16000
SMOOTH = (3, 5, 8, 12, 16)
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)


def one_second(x):
    """The clip centred in one second (keywords_data.fit_clip without a shift)."""
    out = np.zeros(RATE, dtype=np.int16)
    if len(x) >= RATE:
        a = (len(x) - RATE) // 2
        out[:] = x[a:a + RATE]
    else:
        a = (RATE - len(x)) // 2
        out[a:a + len(x)] = x
    return out


def build_stream(shared, split, out, seed=11):
    """Writes <out>/<split>.wav and its truth file; returns their paths."""
    clips = [(p, l) for p, l, s in kd.real_clips(shared) if kd.split_of(s, 1) == split]
    random.Random(seed).shuffle(clips)
    stream = np.zeros(len(clips) * 2 * RATE, dtype=np.int16)
    windows = []
    for i, (path, word) in enumerate(clips):
        x, rate = kd.read_wav(path)
        assert rate == RATE, path
        stream[i * 2 * RATE:(i * 2 + 1) * RATE] = one_second(x)
        if word not in ("silence", "unknown"):
            windows.append([i * 2, i * 2 + 1, word])
    wav = os.path.join(out, f"{split}.wav")
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stream.tobytes())
    truth = os.path.join(out, f"{split}.json")
    with open(truth, "w") as f:
        json.dump([{"wav_file": f"{split}.wav", "length_sec": len(stream) / RATE, "detection_windows": windows}], f)
    return wav, truth


def cli(*args):
    return subprocess.run(["node", os.path.join(REPO, "bin", "hairtrigger.js"), *args], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout


def score(wav, truth, out, model, smooth, threshold, tag="", thresholds=None):
    """Replays with one detector setting (`thresholds`: per keyword) and scores it (`truth` None:
    every trigger is a false alarm)."""
    name = f"{tag}s{smooth}-t{threshold}" + ("-per-word" if thresholds else "")
    route = os.path.join(out, f"{name}.yaml")
    with open(route, "w") as f:
        json.dump({"kind": "detector", "smoothFrames": smooth, "threshold": threshold,
                   "thresholds": thresholds or {}, "debounceMs": 1000}, f)
    for old in glob.glob(os.path.join(out, f"{name}.*.jsonl")):
        os.remove(old)
    cli("replay", wav, "--model", model, "--backend", "sim", "--pacing", "max", "--route", route,
        "--jsonl", os.path.join(out, f"{name}.jsonl"))
    return score_logs(out, name, wav, truth)


def score_logs(out, name, wav, truth, word=None):
    """score-keywords on the logs of replay `name` (only `word`'s triggers when given)."""
    logs = sorted(glob.glob(os.path.join(out, f"{name}.*.jsonl")))
    only = ["--word", word] if word else []
    against = ["--length-s", str(wav_seconds(wav))] if truth is None else ["--truth", truth]
    return json.loads(cli("score-keywords", *logs, *against, *only, "--include-missed", "--json"))


def per_word_thresholds(out, wav, truth, music, smooth, words):
    """For each keyword, the grid threshold whose replay (at `smooth`) gave its triggers the most
    true positives less false alarms (on the music stream too, when given); the higher on a tie."""
    chosen = {}
    for word in words:
        rows = []
        for threshold in THRESHOLDS:
            r = score_logs(out, f"s{smooth}-t{threshold}", wav, truth, word)
            tp = sum(1 for w in r["windows"] if w["word"] == word and w["detected"])
            fa = r["falseAlarms"] + (score_logs(out, f"music-s{smooth}-t{threshold}", music, None, word)["falseAlarms"] if music else 0)
            rows.append((tp - fa, threshold))
        chosen[word] = max(rows)[1]
        print(f"{word}: threshold {chosen[word]} ({rows})", file=sys.stderr)
    return chosen


def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", required=True, help="../shared/data/audio")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "zoo", "keywords"))
    ap.add_argument("--music", help="a keyword-free validation stream (hairtrigger keywords-streaming --seed 2 writes "
                    "streams/music.wav; the card's is seed 1): its false alarms count against a setting too")
    ap.add_argument("--stream", choices=("val", "test"),
                    help="only write this split's stream and truth file and print their paths (hairtrigger keywords-streaming)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.stream is not None:
        wav, truth = build_stream(args.shared, args.stream, args.out)
        print(json.dumps({"wav": wav, "truth": truth}))
        return
    wav, truth = build_stream(args.shared, "val", args.out)
    rows = []
    for smooth in SMOOTH:
        for threshold in THRESHOLDS:
            r = score(wav, truth, args.out, args.model, smooth, threshold)
            music = score(args.music, None, args.out, args.model, smooth, threshold, "music-")["falseAlarms"] if args.music else 0
            rows.append((r["truePositives"] - r["falseAlarms"] - music, smooth, threshold, r["truePositives"], r["misses"], r["falseAlarms"], music))
            print(f"smooth {smooth} threshold {threshold}: {r['truePositives']} tp, {r['misses']} misses, "
                  f"{r['falseAlarms']} false alarms, {music} on music", file=sys.stderr)
    best = max(rows)
    on_music = f" + {best[6]} on {wav_seconds(args.music):.0f} s of validation music" if args.music else ""
    words = sorted({w[2] for w in json.load(open(truth))[0]["detection_windows"]})
    thresholds = per_word_thresholds(args.out, wav, truth, args.music, best[1], words)
    r = score(wav, truth, args.out, args.model, best[1], best[2], thresholds=thresholds)
    music = score(args.music, None, args.out, args.model, best[1], best[2], "music-", thresholds)["falseAlarms"] if args.music else 0
    on_music_per_word = f" + {music} on the music" if args.music else ""
    print(json.dumps({"detector": {"smoothFrames": best[1], "threshold": best[2], "thresholds": thresholds, "debounceMs": 1000},
                      "detectorChosenOn": f"validation speakers' stream: one threshold {best[3]} tp, {best[4]} misses, {best[5]} false alarms "
                                          f"of {best[3] + best[4]} keywords{on_music}; per keyword {r['truePositives']} tp, {r['misses']} misses, "
                                          f"{r['falseAlarms']} false alarms{on_music_per_word} (max tp - false alarms; models/train/keywords_detector.py)"}))


if __name__ == "__main__":
    main()
