#!/usr/bin/python3
"""Put one distill.py run of another student size into the zoo as models/zoo/<task>-<size>/.

    /usr/bin/python3 models/train/zoo_size.py --run build/train/cells-bccd-w4x8 \
        --task cells-bccd --size w4x8 --widths 4,8 --zoo models/zoo

A task's students at several sizes are what the daemon's model selection chooses among
(config `modelSelection`, host/src/model/model-selector.ts). Each size is its own zoo folder,
beside the task's shipped one, so every existing path (models/zoo/<task>, its firmware
hls/build/<task>_student) stays as it was, and a config names a size as it names any model.
The card gets `size` (the firmware is then hls/build/<task>_<size>_student, so sizes do not
share a firmware folder) and `reproduce`. The run's teacher, when it is byte-identical to the
shipped one (same seed, same recipe), is not copied: the card points at it (`teacher.file`);
otherwise it is kept beside the student.
"""

import argparse
import filecmp
import json
import os
import shutil
import sys


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="distill.py's --out folder")
    p.add_argument("--task", required=True)
    p.add_argument("--size", required=True, help="e.g. w4x8 (lower-case letters and digits)")
    p.add_argument("--widths", required=True, help="the --student-widths of the run, e.g. 4,8")
    p.add_argument("--zoo", default="models/zoo")
    a = p.parse_args(argv)
    if not a.size.isalnum() or a.size.lower() != a.size:
        print(f"--size {a.size!r}: lower-case letters and digits, e.g. w4x8", file=sys.stderr)
        return 2
    card_path = os.path.join(a.run, "card.json")
    if not os.path.isfile(card_path) or not os.path.isfile(os.path.join(a.run, "student.onnx")):
        print(f"{a.run}: no card.json and student.onnx (run distill.py with --out {a.run} first)", file=sys.stderr)
        return 2
    with open(card_path) as f:
        card = json.load(f)
    if card.get("task") != a.task:
        print(f"{card_path}: task {card.get('task')!r}, want {a.task!r}", file=sys.stderr)
        return 2
    out = os.path.join(a.zoo, f"{a.task}-{a.size}")
    os.makedirs(out, exist_ok=True)
    shutil.copyfile(os.path.join(a.run, "student.onnx"), os.path.join(out, "student.onnx"))
    shipped_teacher = os.path.join(a.zoo, a.task, "teacher.onnx")
    run_teacher = os.path.join(a.run, "teacher.onnx")
    if card.get("teacher") is not None and os.path.isfile(run_teacher):
        if os.path.isfile(shipped_teacher) and filecmp.cmp(run_teacher, shipped_teacher, shallow=False):
            card["teacher"]["file"] = f"../{a.task}/teacher.onnx"
        else:
            shutil.copyfile(run_teacher, os.path.join(out, "teacher.onnx"))
    stale = os.path.join(out, "teacher.onnx")
    if card.get("teacher", {}) and card["teacher"].get("file") and os.path.isfile(stale):
        os.remove(stale)
    sized = {"task": card["task"], "size": a.size}
    sized.update({k: v for k, v in card.items() if k not in ("task", "size")})
    sized["reproduce"] = f"make sizes SIZES={a.task}:{a.size}:{a.widths}"
    with open(os.path.join(out, "card.json"), "w") as f:
        json.dump(sized, f, indent=2)
        f.write("\n")
    print(f"{out}: student {sized['student']['params']} params, accuracy {sized['student']['accuracy']}"
          f" (fixed {sized['student'].get('fixedAccuracyEmulated')})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
