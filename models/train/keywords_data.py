"""Keyword-spotting data: real Speech Commands clips split by speaker, plus speech synthesised
with espeak-ng (voices, variants, speeds, pitches) resampled by sox, each mixed with real
background noise. Writes raw 1 s 16 kHz int16 clips as npy splits (features come later, from
audio_features.py, so training and serving share one front end).

    /usr/bin/python3 models/train/keywords_data.py --shared ../shared/data/audio --out DIR [--seed N] [--per-word N]

Splits: real clips by speaker (a speaker's clips all in one split; seeded hash); synthetic
clips by voice variant (the variants in HELD_OUT_VARIANTS only in `test_synth`), so the card
can report accuracy on real test speakers and on voices training never heard.
"""
import argparse
import hashlib
import json
import os
import subprocess
import tempfile
import wave

import numpy as np

RATE = 16000
CLIP = RATE  # one second
KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
# MLPerf Tiny's 12 classes, plus the wake word of its streaming benchmark.
LABELS = ["silence", "unknown", *KEYWORDS, "marvin"]
# Other words for `unknown` (Speech Commands' auxiliary words and near misses).
UNKNOWN_WORDS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "nine",
                 "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "yet",
                 "know", "upper", "lift", "right now", "often", "stock", "goal", "marble", "martin"]
BASE_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
TRAIN_VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f4", "klatt", "klatt2", "croak", "Andy", "Annie", "belinda"]
HELD_OUT_VARIANTS = ["m7", "f5", "klatt3", "benjamin"]
SPLIT_SHARES = {"train": 0.8, "val": 0.1, "test": 0.1}


def read_wav(path):
    """A mono 16-bit WAV as int16 samples and its rate (the real clips are all 16 kHz mono)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit, expected 16-bit")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(axis=1).astype(np.int16)
        return x, w.getframerate()


def speaker_of(name):
    """Speech Commands names are `<speaker>_nohash_<n>.wav`."""
    return os.path.basename(name).split("_nohash_")[0]


def split_of(key, seed, shares=SPLIT_SHARES):
    """A stable split for `key` (a speaker or a voice): a seeded hash, so every clip of one key
    lands in one split whatever else is in the data."""
    u = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16) / float(1 << 48)
    edge = 0.0
    for split, share in shares.items():
        edge += share
        if u < edge:
            return split
    return list(shares)[-1]


def real_clips(root):
    """(path, label, speaker) of every real clip: the keyword folders, `_unknown_`, `_silence_`."""
    base = os.path.join(root, "speech-commands-pico-tinyml-benchmark")
    out = []
    for folder in sorted(os.listdir(base)):
        d = os.path.join(base, folder)
        if not os.path.isdir(d):
            continue
        label = {"_unknown_": "unknown", "_silence_": "silence"}.get(folder, folder)
        if label not in LABELS:
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".wav"):
                out.append((os.path.join(d, f), label, speaker_of(f)))
    return out


def noise_files(root):
    d = os.path.join(root, "speech-commands-wids-tutorial", "_background_noise_")
    return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".wav")]


def fit_clip(x, rng, shift_max=1600):
    """`x` placed in one second: centred with a random shift (cut or zero-padded)."""
    out = np.zeros(CLIP, dtype=np.float64)
    x = x.astype(np.float64)
    if len(x) > CLIP:
        start = (len(x) - CLIP) // 2
        x = x[start:start + CLIP]
    at = (CLIP - len(x)) // 2 + int(rng.integers(-shift_max, shift_max + 1))
    at = min(max(at, 0), CLIP - len(x))
    out[at:at + len(x)] = x
    return out


def mix(signal, noise, snr_db):
    """`signal + g * noise` with g chosen for the given SNR (signal power over scaled noise
    power, dB); both float, one second; clipped to int16."""
    ps = float(np.mean(signal ** 2))
    pn = float(np.mean(noise ** 2))
    g = 0.0 if pn == 0 or ps == 0 else np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    return np.clip(np.round(signal + g * noise), -32768, 32767).astype(np.int16)


def noise_crop(noises, rng, gain=1.0):
    n = noises[int(rng.integers(len(noises)))]
    at = int(rng.integers(0, len(n) - CLIP))
    return n[at:at + CLIP].astype(np.float64) * gain


def synth(word, voice, speed, pitch, tmp):
    """One utterance by espeak-ng, resampled to 16 kHz mono 16-bit by sox; int16 samples."""
    raw = os.path.join(tmp, "raw.wav")
    out = os.path.join(tmp, "16k.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, word], check=True, capture_output=True)
    subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", out], check=True, capture_output=True)
    x, rate = read_wav(out)
    assert rate == RATE
    return x


def build(shared, seed, per_word):
    rng = np.random.default_rng(seed)
    noises = [read_wav(p)[0] for p in noise_files(shared)]
    rows = {s: [] for s in ["train", "val", "test", "test_synth"]}
    for path, label, speaker in real_clips(shared):
        x, rate = read_wav(path)
        assert rate == RATE, path
        rows[split_of(speaker, seed)].append((fit_clip(x, rng, 0).astype(np.int16), label, 0, speaker))
    # The MLPerf wake-word clip: one real "marvin", for training.
    marvin, _ = read_wav(os.path.join(shared, "mlperf-tiny-wakeword", "marvin_617de221_0.wav"))
    rows["train"].append((fit_clip(marvin, rng, 0).astype(np.int16), "marvin", 0, "617de221"))
    with tempfile.TemporaryDirectory() as tmp:
        words = [(w, w) for w in KEYWORDS + ["marvin"]] + [(w, "unknown") for w in UNKNOWN_WORDS]
        for word, label in words:
            n = per_word if label != "unknown" else max(2, per_word // 4)
            for i in range(n):
                held = i % 5 == 4
                variant = (HELD_OUT_VARIANTS if held else TRAIN_VARIANTS)[int(rng.integers(len(HELD_OUT_VARIANTS if held else TRAIN_VARIANTS)))]
                voice = f"{BASE_VOICES[int(rng.integers(len(BASE_VOICES)))]}+{variant}"
                x = synth(word, voice, int(rng.integers(110, 221)), int(rng.integers(20, 81)), tmp)
                clip = mix(fit_clip(x, rng), noise_crop(noises, rng), float(rng.uniform(5, 30)))
                split = "test_synth" if held else ("val" if i % 10 == 3 else "train")
                rows[split].append((clip, label, 1, voice))
    # Silence: background noise alone, at random levels.
    for i in range(per_word):
        clip = np.clip(np.round(noise_crop(noises, rng, float(rng.uniform(0.0, 1.0)))), -32768, 32767).astype(np.int16)
        rows["train" if i % 10 else "val"].append((clip, "silence", 1, "noise"))
    return rows


def write(rows, out, seed, shared):
    os.makedirs(out, exist_ok=True)
    meta = {"labels": LABELS, "rate": RATE, "clipSamples": CLIP, "seed": seed, "splits": {},
            "split": "real clips by speaker (seeded sha256 of the speaker id: 80/10/10); synthetic by voice variant "
                     f"({', '.join(HELD_OUT_VARIANTS)} only in test_synth)",
            "source": os.path.abspath(shared)}
    for split, r in rows.items():
        if not r:
            continue
        np.save(os.path.join(out, f"{split}_audio.npy"), np.stack([c for c, _, _, _ in r]))
        np.save(os.path.join(out, f"{split}_y.npy"), np.array([LABELS.index(l) for _, l, _, _ in r], dtype=np.int8))
        np.save(os.path.join(out, f"{split}_synthetic.npy"), np.array([s for _, _, s, _ in r], dtype=np.int8))
        meta["splits"][split] = {"rows": len(r), "perLabel": {l: sum(1 for _, x, _, _ in r if x == l) for l in LABELS},
                                 "keys": sorted({k for _, _, _, k in r})}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-word", type=int, default=150)
    a = ap.parse_args()
    meta = write(build(a.shared, a.seed, a.per_word), a.out, a.seed, a.shared)
    print(json.dumps({s: m["rows"] for s, m in meta["splits"].items()}))


if __name__ == "__main__":
    main()
