"""Keyword-spotting training tensors: the clips of keywords_data.py through the shared front
end (audio_features.py, the numpy twin of host/src/modalities/audio/mfcc.ts), written as the
splits models/train/data.py loads (`{split}_x.npy` float32 [N, 1, 49, 10], `{split}_y.npy`,
`meta.json`). `test_synth` (held-out voices) is written beside them for the card.

    /usr/bin/python3 models/train/keywords_features.py --audio DIR --out DIR
"""
import argparse
import json
import os

import numpy as np

import audio_features
import matchboxnet_teacher

# val_augmented: augmented copies of the real validation clips, for the final fit only
# (distill.py --fit train+validation), as MatchboxNet's targets of the validation rows are.
SPLITS = ["train", "val", "test", "test_synth", "val_augmented"]
MATCHBOXNET_SPLITS = ("train", "val", "val_augmented")


def clip_features(audio, spec):
    """[N, 16000] int16 clips -> float32 [N, 1, frames, coefficients]."""
    out = [np.asarray(audio_features.features(a, spec), dtype=np.float32) for a in audio]
    x = np.stack(out)
    return x.reshape(len(audio), 1, spec["frames"], -1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--audio", required=True, help="keywords_data.py output")
    ap.add_argument("--out", required=True)
    ap.add_argument("--matchboxnet", help="MatchboxNet ONNX: write train_matchboxnet.npy, its probabilities "
                    "over our labels for the training rows (an extra teacher in distill.py), and "
                    "val_ and val_augmented_matchboxnet.npy for the final fit on train + validation")
    a = ap.parse_args()
    with open(os.path.join(a.audio, "meta.json")) as f:
        src = json.load(f)
    spec = audio_features.default_spec("mfcc")
    # The model takes one channel: [1, frames, coefficients] (NCHW), as the card's input.
    spec["input"] = {"shape": [1, spec["frames"], spec["coefficients"]]}
    os.makedirs(a.out, exist_ok=True)
    counts = {}
    for split in SPLITS:
        path = os.path.join(a.audio, f"{split}_audio.npy")
        if not os.path.isfile(path):
            continue
        x = clip_features(np.load(path), spec)
        np.save(os.path.join(a.out, f"{split}_x.npy"), x)
        np.save(os.path.join(a.out, f"{split}_y.npy"), np.load(os.path.join(a.audio, f"{split}_y.npy")).astype(np.int64))
        # 0 real, 1 synthetic, 2 augmented real: the card reports real validation rows apart.
        np.save(os.path.join(a.out, f"{split}_synthetic.npy"), np.load(os.path.join(a.audio, f"{split}_synthetic.npy")))
        # 0 none, 1 real noise, 2 music (keywords_data.BACKGROUNDS): the rows an extra teacher may label.
        background = os.path.join(a.audio, f"{split}_background.npy")
        if os.path.isfile(background):
            np.save(os.path.join(a.out, f"{split}_background.npy"), np.load(background))
        counts[split] = int(len(x))
        if a.matchboxnet and split in MATCHBOXNET_SPLITS:
            audio, y = np.load(path), np.load(os.path.join(a.audio, f"{split}_y.npy"))
            probs = matchboxnet_teacher.to_labels(matchboxnet_teacher.logits(audio, a.matchboxnet), src["labels"], y)
            np.save(os.path.join(a.out, f"{split}_matchboxnet.npy"), probs)
    meta = {"task": "keywords", "labels": src["labels"], "input": {"shape": [1, spec["frames"], spec["coefficients"]], "dtype": "float32"},
            "preprocessing": spec, "dataset": {k: v for k, v in counts.items() if k in ("train", "val", "test")},
            "datasetExtra": {k: counts.get(k, 0) for k in ("test_synth", "val_augmented")}, "split": src["split"], "source": src["source"],
            "datasetDetail": {k: src[k] for k in ("seed", "shares", "augmentation") if k in src} |
            {"perLabel": {k: v["perLabel"] for k, v in src["splits"].items()},
             "rowsByKind": {k: v.get("rowsByKind") for k, v in src["splits"].items()}}}
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
