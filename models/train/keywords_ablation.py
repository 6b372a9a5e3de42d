"""Keyword student ablations on the VALIDATION split (issue 11): the student stage alone (plus
optional QAT) from a cached CNN teacher, with the MatchboxNet weight, width, blocks, KD settings
and class weights as options. Prints the float student's validation accuracy before folding, and
the folded, snapped student's in the firmware's fixed-point types (all validation rows and the
139 real ones); appends a JSON line to OUT/results.jsonl. The test split is scored only with
--test. The figures in tasks.py's keyword comments come from it:

    /usr/bin/python3 models/train/keywords_ablation.py --name w64 --width 64 --mbx 1.0 \
        --ratio-min 50 --out build/kw-ablation

The first run trains the task's teacher (seed 0) and caches it at OUT/teacher.pt.
"""
import os, sys, time, json, argparse
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np, torch
import distill, data, nets, tasks, train, firmware_types
from fixedpoint import FixedPoint, fixed_forward, snap_

ap = argparse.ArgumentParser()
ap.add_argument("--name", required=True)
ap.add_argument("--width", type=int, default=48)
ap.add_argument("--blocks", type=int, default=3)
ap.add_argument("--mbx", type=float, default=0.5)
ap.add_argument("--mbx-rows", choices=("real", "clean"), default="real",
                help="MatchboxNet's rows: real and augmented real, or only those without a mixed-in background")
ap.add_argument("--epochs", type=int, default=40)
ap.add_argument("--qat", type=int, default=0)
ap.add_argument("--alpha", type=float, default=0.7)
ap.add_argument("--T", type=float, default=4.0)
ap.add_argument("--noweights", action="store_true")
ap.add_argument("--test", action="store_true")
ap.add_argument("--teacher", help="a cached teacher: a state dict (default OUT/teacher.pt), or an exported teacher.onnx "
                "(its batch norms folded: loaded back as identity batch norms)")
ap.add_argument("--music", help="a keyword-free stream: screen the snapped student's detector (keywords_screen.py) "
                "on it and on the validation speakers' stream")
ap.add_argument("--shared", default="../shared/data/audio")
ap.add_argument("--teacher-widths", help="the cached teacher's widths, e.g. 80,160,320,480 (default: the task's)")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--data", default="models/data/keywords")
ap.add_argument("--out", default="build/kw-ablation")
ap.add_argument("--ratio-min", type=float, default=tasks.TEACHER_PARAMS_RATIO_MIN,
                help="teacher/student params at least (a wider student than the cached teacher allows: lower it)")
a = ap.parse_args()

DATA = a.data
args = distill.parse_args(["--task", "keywords", "--data", DATA, "--out", a.out, "--alpha", str(a.alpha), "--temperature", str(a.T),
                           "--seed", str(a.seed)])
cfg = distill.resolve(args)
distill.seed_everything(a.seed, distill.torch_threads(cfg))
cfg["student_widths"] = (a.width,)
cfg["student_blocks"] = a.blocks
if a.teacher_widths:
    cfg["teacher_widths"] = tuple(int(w) for w in a.teacher_widths.split(","))
tasks.TEACHER_PARAMS_RATIO_MIN = a.ratio_min
cfg["epochs"]["student"] = a.epochs
cfg["epochs"]["qat"] = a.qat
meta, splits = data.load(DATA, "keywords")
labels = meta["labels"]
weights = data.class_weights(splits["train"][1], len(labels))
if a.noweights:
    weights = torch.ones_like(weights)
teacher, student = distill.build(cfg, meta, a.seed)
print(a, "student params", nets.params(student), flush=True)
os.makedirs(a.out, exist_ok=True)
tp = a.teacher or os.path.join(a.out, "teacher.pt")
if tp.endswith(".onnx"):
    teacher = distill.teacher_from_onnx(teacher, tp)
elif os.path.exists(tp):
    teacher.load_state_dict(torch.load(tp)); teacher.eval()
else:
    t0 = time.time()
    teacher, _, _ = distill.train_teacher(args, cfg, teacher, splits, labels, weights)
    torch.save(teacher.state_dict(), tp)
    print("teacher trained", time.time() - t0, flush=True)
t_logits = distill.teacher_view_logits(teacher, splits["train"][0], 1)
if a.mbx > 0:
    t_logits = distill.extra_teacher_logits(args, {"file": "train_matchboxnet.npy", "weight": a.mbx, "rows": a.mbx_rows}, t_logits)
t0 = time.time()
student, best, _ = distill.train_student(args, cfg, student, student, splits, labels, weights, t_logits, "student")
print("student trained", time.time() - t0, "best", best, flush=True)
fp = FixedPoint(6, 10)
real = torch.from_numpy(np.load(os.path.join(DATA, "val_synthetic.npy")) == 0)
vx, vy = splits["val"]
def acc(m, x, y):
    return float((train.logits_of(m, x).argmax(1) == y).float().mean())
print("PREQAT valAll", acc(student, vx, vy), "valReal", acc(student, vx[real], vy[real]), flush=True)
student = nets.fold_batchnorm(student.eval())
types = firmware_types.layer_types(student, cfg.get("card_precision"), fp)
if a.qat > 0:
    student, bq, _ = distill.train_student(args, cfg, student, lambda x: fixed_forward(student, x, fp, types=types), splits, labels, weights, t_logits, "qat")
    print("qat best", bq, flush=True)
snap_(student, fp)
import copy as _c
exact = _c.deepcopy(student).double()
fx = lambda b: fixed_forward(exact, b.double(), fp, {}, types)
print("FIXED valAll", acc(fx, vx, vy), "valReal", acc(fx, vx[real], vy[real]), flush=True)
res = {"name": a.name, "params": nets.params(student), "valAll": acc(student, vx, vy), "valReal": acc(student, vx[real], vy[real]),
       "teacherValReal": acc(teacher, vx[real], vy[real])}
res["args"] = {k: v for k, v in vars(a).items() if k not in ("name", "data", "out", "shared")}
synth = os.path.join(DATA, "test_synth_x.npy")
if os.path.isfile(synth):
    res["voices"] = acc(student, torch.from_numpy(np.load(synth)), torch.from_numpy(np.load(os.path.join(DATA, "test_synth_y.npy")).astype(np.int64)))
if a.test:
    res["test"] = acc(student, *splits["test"])
if a.music:
    import keywords_screen
    with torch.no_grad():
        sc = keywords_screen.screen(lambda x: train.logits_of(student.eval(), torch.from_numpy(x)).numpy(), labels, a.shared, a.music)
    res["screen"] = {k: sc[k] for k in ("best", "bestNoMusicFa", "s12t08")}
print("RESULT", json.dumps(res), flush=True)
torch.save(student.state_dict(), os.path.join(a.out, f"{a.name}.pt"))
with open(os.path.join(a.out, "results.jsonl"), "a") as f:
    f.write(json.dumps(res) + "\n")
