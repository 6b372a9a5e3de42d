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
KINDS = ["real", "synthetic", "augmented"]  # the `{split}_synthetic.npy` codes 0, 1, 2
# A row's background, the `{split}_background.npy` codes 0, 1, 2: none (a real clip as recorded,
# or an augmented copy left without one), real noise, synthesised music. The training may treat
# rows by it (tasks.py `extra_teacher` "rows": MatchboxNet's targets only where it was trained).
BACKGROUNDS = ["none", "noise", "music"]
# Augmented copies of the real training clips (the test resembles them): speed perturbation
# (sox `speed`: tempo and pitch, as Kaldi's 0.9/1.0/1.1 but drawn from a range), time shift,
# gain, and a background (real noise or sox-synthesised music) at a random SNR.
AUGMENT = {"speed": (0.85, 1.15), "shiftMs": 100, "gainDb": (-6.0, 6.0), "backgroundP": 0.8,
           "musicP": 0.5, "snrDb": (0.0, 20.0)}
# Music-like backgrounds (the wake-word stream is speech over classical music): chords of
# pluck/triangle/sine tones from one diatonic scale, each 0.25-1.2 s, by sox synth.
MUSIC_TRACKS, MUSIC_SECONDS = 16, 12
# Silence rows of music alone per word's synthetic utterances (music made most streaming false
# alarms: 238 an hour with half as many, at half the level).
MUSIC_SILENCE = 3.0
MUSIC_SYNTH_P = 0.3  # share of synthetic utterances mixed over music instead of real noise
# espeak-ng words per minute and pitch (0-99) drawn per utterance; marvin, the wake word with one
# real clip, gets twice the synthetic utterances of a keyword.
SYNTH_SPEED, SYNTH_PITCH, MARVIN_SYNTH_FACTOR = (100, 241), (10, 91), 2
SCALE = ["C", "D", "E", "F", "G", "A", "B"]


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
    """Speech Commands names are `<speaker>_nohash_<n>.wav`; the `_unknown_` folder's carry
    their word in front (`<word>_<speaker>_nohash_<n>.wav.wav`), which is not the speaker's."""
    return os.path.basename(name).split("_nohash_")[0].split("_")[-1]


def word_of(name):
    """The word an `_unknown_` clip says (its name's prefix)."""
    return os.path.basename(name).split("_")[0]


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
                # `_unknown_` holds real "marvin" clips too: for this label set they are marvins.
                word = word_of(f) if label == "unknown" else label
                out.append((os.path.join(d, f), word if word in LABELS else label, speaker_of(f)))
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


def shift(x, n):
    """`x` moved `n` samples later (earlier when negative), zeros filling the gap; same length."""
    out = np.zeros_like(x)
    if n >= 0:
        out[n:] = x[:len(x) - n]
    else:
        out[:n] = x[-n:]
    return out


def noise_crop(noises, rng, gain=1.0):
    n = noises[int(rng.integers(len(noises)))]
    at = int(rng.integers(0, len(n) - CLIP))
    return n[at:at + CLIP].astype(np.float64) * gain


def sox_raw(args, x=b""):
    """sox on raw 16 kHz mono int16 (stdin -> stdout, or a synth from -n): int16 samples."""
    fmt = ["-t", "raw", "-r", str(RATE), "-e", "signed-integer", "-b", "16"]
    src = ["-n"] if not x else [*fmt, "-c", "1", "-"]
    # -D: no dither (sox dithers by default when an effect changes the samples, from its own
    # random source), so a seed reproduces the clips.
    out = subprocess.run(["sox", "-D", *src, *fmt, *args], input=x, check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype="<i2")


def music_track(rng, seconds=MUSIC_SECONDS):
    """A music-like background: random triads of one scale in three timbres, by sox synth."""
    parts, total = [], 0.0
    while total < seconds:
        dur = round(float(rng.uniform(0.25, 1.2)), 3)
        root = int(rng.integers(len(SCALE)))
        notes = [f"{SCALE[(root + k) % 7]}{int(rng.integers(3, 6))}" for k in (0, 2, 4)]
        tones = [a for n, kind in zip(notes, ("pluck", "triangle", "sine")) for a in (kind, n)]
        x = sox_raw(["-c", "3", "-", "synth", str(dur), *tones, "fade", "0.02", str(dur), "0.1"])
        parts.append(x.reshape(-1, 3).astype(np.float64).mean(axis=1))
        total += dur
    return np.concatenate(parts)[:seconds * RATE]


def augment(x, rng, noises, music):
    """One augmented copy of a real 1 s clip (AUGMENT): speed, shift, gain, background."""
    return augment_with_background(x, rng, noises, music)[0]


def augment_with_background(x, rng, noises, music):
    """`augment`'s clip and its background (a BACKGROUNDS name); the same draws."""
    a = AUGMENT
    y = sox_raw(["-c", "1", "-", "speed", f"{rng.uniform(*a['speed']):.4f}"], x.astype("<i2").tobytes())
    y = shift(fit_clip(y, rng, 0), int(rng.integers(-a["shiftMs"], a["shiftMs"] + 1)) * RATE // 1000)
    y = y * 10 ** (rng.uniform(*a["gainDb"]) / 20)
    if rng.uniform() < a["backgroundP"]:
        bank = music if rng.uniform() < a["musicP"] else noises
        return mix(y, noise_crop(bank, rng), float(rng.uniform(*a["snrDb"]))), "music" if bank is music else "noise"
    return np.clip(np.round(y), -32768, 32767).astype(np.int16), "none"


def synth(word, voice, speed, pitch, tmp):
    """One utterance by espeak-ng, resampled to 16 kHz mono 16-bit by sox; int16 samples."""
    raw = os.path.join(tmp, "raw.wav")
    out = os.path.join(tmp, "16k.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, word], check=True, capture_output=True)
    subprocess.run(["sox", "-D", raw, "-r", str(RATE), "-c", "1", "-b", "16", out], check=True, capture_output=True)
    x, rate = read_wav(out)
    assert rate == RATE
    return x


def synthetic(rows, per_word, rng, noises, music):
    """espeak-ng utterances of every word (marvin MARVIN_SYNTH_FACTOR times as many), each over
    real noise or synthesised music (MUSIC_SYNTH_P) at 5-30 dB SNR, into `rows` by voice variant."""
    with tempfile.TemporaryDirectory() as tmp:
        words = [(w, w) for w in KEYWORDS + ["marvin"]] + [(w, "unknown") for w in UNKNOWN_WORDS]
        for word, label in words:
            n = {"unknown": max(2, per_word // 4), "marvin": per_word * MARVIN_SYNTH_FACTOR}.get(label, per_word)
            for i in range(n):
                held = i % 5 == 4
                variants = HELD_OUT_VARIANTS if held else TRAIN_VARIANTS
                voice = f"{BASE_VOICES[int(rng.integers(len(BASE_VOICES)))]}+{variants[int(rng.integers(len(variants)))]}"
                x = synth(word, voice, int(rng.integers(*SYNTH_SPEED)), int(rng.integers(*SYNTH_PITCH)), tmp)
                bank = music if rng.uniform() < MUSIC_SYNTH_P else noises
                clip = mix(fit_clip(x, rng), noise_crop(bank, rng), float(rng.uniform(5, 30)))
                split = "test_synth" if held else ("val" if i % 10 == 3 else "train")
                rows[split].append((clip, label, 1, voice, "music" if bank is music else "noise"))


def augmented(real, copies, rng, noises, music):
    """`copies` augmented rows per real (clip, label, synthetic, key, background) row (synthetic flag 2)."""
    out = []
    for c, label, _, key, _ in real:
        for _ in range(copies):
            clip, bg = augment_with_background(c, rng, noises, music)
            out.append((clip, label, 2, key, bg))
    return out


def build(shared, seed, per_word, copies=0, marvin_copies=0, music_silence=MUSIC_SILENCE):
    rng = np.random.default_rng(seed)
    # Augmentation draws from its own stream, so the copies leave the synthetic clips as they were.
    arng = np.random.default_rng([seed, 1])
    noises = [read_wav(p)[0] for p in noise_files(shared)]
    music = [music_track(arng) for _ in range(MUSIC_TRACKS)]
    rows = {s: [] for s in ["train", "val", "test", "test_synth"]}
    for path, label, speaker in real_clips(shared):
        x, rate = read_wav(path)
        assert rate == RATE, path
        rows[split_of(speaker, seed)].append((fit_clip(x, rng, 0).astype(np.int16), label, 0, speaker, "none"))
    # The MLPerf wake-word clip: one real "marvin", for training.
    marvin, _ = read_wav(os.path.join(shared, "mlperf-tiny-wakeword", "marvin_617de221_0.wav"))
    real_marvin = (fit_clip(marvin, rng, 0).astype(np.int16), "marvin", 0, "617de221", "none")
    rows["train"].append(real_marvin)
    # Real marvins are few (the wake word's own clip and those of `_unknown_` in train): each gets
    # `marvin_copies` augmented copies, every other real clip `copies`.
    rows["train"] += [a for r in list(rows["train"]) if r[2] == 0
                      for a in augmented([r], marvin_copies if r[1] == "marvin" else copies, arng, noises, music)]
    synthetic(rows, per_word, rng, noises, music)
    # Silence: background noise alone, and music alone, at random levels.
    for i in range(per_word):
        clip = np.clip(np.round(noise_crop(noises, rng, float(rng.uniform(0.0, 1.0)))), -32768, 32767).astype(np.int16)
        rows["train" if i % 10 else "val"].append((clip, "silence", 1, "noise", "noise"))
    # Drawn last: more music silence (--music-silence) leaves every other row as it was.
    for i in range(int(per_word * music_silence)):
        clip = np.clip(np.round(noise_crop(music, rng, float(rng.uniform(0.0, 1.0)))), -32768, 32767).astype(np.int16)
        rows["train" if i % 10 else "val"].append((clip, "silence", 1, "music", "music"))
    rows["val_augmented"] = validation_copies(rows["val"], seed, copies, marvin_copies, noises, music)
    return rows


def validation_copies(val, seed, copies, marvin_copies, noises, music):
    """Augmented copies of the real validation clips, as the training clips get them (`copies`
    each, `marvin_copies` of each real marvin), for the final fit on train + validation speakers
    (distill.py --fit train+validation); never in the validation split itself. Drawn from their own
    stream ([seed, 2]), so every other row stays as it was."""
    vrng = np.random.default_rng([seed, 2])
    return [a for r in val if r[2] == 0
            for a in augmented([r], marvin_copies if r[1] == "marvin" else copies, vrng, noises, music)]


def augmentation_text(copies, marvin_copies, music_silence=MUSIC_SILENCE):
    """What the training split holds besides the real clips, for the card."""
    a = AUGMENT
    return (f"{copies} augmented copies of each real training clip ({marvin_copies} of each real marvin): "
            f"sox speed x{a['speed'][0]}-{a['speed'][1]}, shift +-{a['shiftMs']} ms, gain {a['gainDb'][0]:+g}..{a['gainDb'][1]:+g} dB, "
            f"with p {a['backgroundP']} a background at {a['snrDb'][0]:g}-{a['snrDb'][1]:g} dB SNR (real _background_noise_, or with p "
            f"{a['musicP']} sox-synthesised music: {MUSIC_TRACKS} tracks of random triads). espeak-ng speech ({len(TRAIN_VARIANTS)} "
            f"train voice variants x {len(BASE_VOICES)} accents, {SYNTH_SPEED[0]}-{SYNTH_SPEED[1] - 1} wpm, pitch {SYNTH_PITCH[0]}-{SYNTH_PITCH[1] - 1}; "
            f"marvin x{MARVIN_SYNTH_FACTOR}) over real noise or, with p {MUSIC_SYNTH_P}, music at 5-30 dB SNR; silence from noise and music alone"
            + (f" ({music_silence:g}x as many music rows as noise rows)" if music_silence != 1.0 else ""))


def write(rows, out, seed, shared, copies=0, marvin_copies=0, music_silence=MUSIC_SILENCE):
    os.makedirs(out, exist_ok=True)
    meta = {"labels": LABELS, "rate": RATE, "clipSamples": CLIP, "seed": seed, "splits": {},
            "split": "real clips by speaker (seeded sha256 of the speaker id: 80/10/10); synthetic by voice variant "
                     f"({', '.join(HELD_OUT_VARIANTS)} only in test_synth)",
            "shares": SPLIT_SHARES, "augmentation": augmentation_text(copies, marvin_copies, music_silence),
            "source": os.path.abspath(shared)}
    for split, r in rows.items():
        if not r:
            continue
        np.save(os.path.join(out, f"{split}_audio.npy"), np.stack([c for c, _, _, _, _ in r]))
        np.save(os.path.join(out, f"{split}_y.npy"), np.array([LABELS.index(l) for _, l, _, _, _ in r], dtype=np.int8))
        np.save(os.path.join(out, f"{split}_synthetic.npy"), np.array([s for _, _, s, _, _ in r], dtype=np.int8))
        np.save(os.path.join(out, f"{split}_background.npy"), np.array([BACKGROUNDS.index(b) for *_, b in r], dtype=np.int8))
        meta["splits"][split] = {"rows": len(r), "perLabel": {l: sum(1 for _, x, _, _, _ in r if x == l) for l in LABELS},
                                 "rowsByKind": {kind: sum(1 for _, _, s, _, _ in r if s == i) for i, kind in enumerate(KINDS)},
                                 "rowsByBackground": {b: sum(1 for *_, x in r if x == b) for b in BACKGROUNDS},
                                 "keys": sorted({k for _, _, _, k, _ in r})}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-word", type=int, default=150)
    ap.add_argument("--copies", type=int, default=6, help="augmented copies per real training clip")
    ap.add_argument("--marvin-copies", type=int, default=40, help="augmented copies of each real training marvin")
    ap.add_argument("--music-silence", type=float, default=MUSIC_SILENCE,
                    help="silence rows of music alone per noise silence row (drawn after every other row)")
    a = ap.parse_args()
    rows = build(a.shared, a.seed, a.per_word, a.copies, a.marvin_copies, a.music_silence)
    meta = write(rows, a.out, a.seed, a.shared, a.copies, a.marvin_copies, a.music_silence)
    print(json.dumps({s: m["rows"] for s, m in meta["splits"].items()}))


if __name__ == "__main__":
    main()
