"""Per-task recipe: architectures, default epochs and learning rates, targets.

Epochs are sized so both cells tasks train in about 25 minutes on 2 CPU
cores, alerts-transient in about 6 (see README.md for the measured
throughput behind them). Image tasks train on random D4 views (`augment`
"d4", the default); a task may set None.
"""

TEACHER_PARAMS_RATIO_MIN = 100  # teacher params / student params, at least (per task: teacher_params_ratio_min)

TASKS = {
    "cells-bccd": {
        "input": (3, 32, 32),
        "student_widths": (8, 16),        # 3,123 params for 3 classes
        "teacher_widths": (32, 64, 128, 384),  # 537,763 params, 172x
        "teacher_dropout": 0.3,
        "epochs": {"teacher": 40, "student": 80, "qat": 30},
        "lr": {"teacher": 2e-3, "student": 5e-3, "qat": 5e-4},
        "teacher_weight_decay": 5e-4,
        # Missing a WBC sends a white cell to waste; the sorter exists for them.
        "recall_min": {"WBC": 0.95},
        "trigger_targets": ["WBC"],  # the sorter picks out white cells
    },
    "cells-lymphocyte": {
        "input": (1, 48, 48),
        # Copies the published FPGA sorter (2 classes there: 5,682 params);
        # 7,283 params for B/T4/T8.
        "student_widths": (16, 16),
        "teacher_widths": (24, 48, 96, 192, 512),  # 1,105,963 params, 152x
        "teacher_dropout": 0.3,
        "epochs": {"teacher": 30, "student": 40, "qat": 15},
        "lr": {"teacher": 2e-3, "student": 5e-3, "qat": 5e-4},
        "teacher_weight_decay": 5e-4,
        "recall_min": {},
        "trigger_targets": ["B"],  # the sorter picks out B cells
    },
    # Real/bogus on ZTF cutout triplets (science, template, difference), distilled from
    # ZTF's own deep real/bogus score `candidate.drb` (braai): the packets carry the
    # teacher's output, so there is no teacher network here (`soft_targets` set) and
    # the soft target of a row is [1 - drb, drb] (T = 1 keeps drb as it is).
    "alerts-realbogus": {
        "input": (3, 32, 32),
        "student_widths": (8, 16),
        "soft_targets": "drb",
        "second_teacher": "rb",            # ZTF's older real/bogus score, reported beside
        "teacher_note": (
            "The teacher is ZTF's deep real/bogus network (braai, Duev et al. 2019), which is "
            "not ours: its output candidate.drb is in every packet, so the student is distilled "
            "from drb directly (soft target [1-drb, drb]) and there is no teacher.onnx. An "
            "intermediate teacher trained on the few hundred packets here would only be a "
            "noisier copy of drb. rb, ZTF's earlier real/bogus score, is reported beside it."),
        "temperature": 1.0,
        "trigger_targets": ["real"],      # the card's default trigger class (a broker keeps reals)
        "epochs": {"student": 150, "qat": 40},
        "lr": {"student": 5e-3, "qat": 5e-4},
        "recall_min": {},
    },
    "alerts-transient": {
        # Light-curve grid [ugrizy x (flux, detected, upperLimit), 100 days]
        # (host/src/modalities/alerts/lightcurve.ts; alerts_lightcurve.py).
        "input": (18, 100),
        "model": "sequence",
        # Conv1d(k=5): 3,377 params for 7 classes. (8, 12), 3,075 params, missed the
        # 3-point accuracy gap by 0.21 points.
        "student_widths": (10, 12),
        "student_kernel": 5,
        # t2-like transformer with a conv stem: 72,439 params, 21.5x the student (<= 5% asked).
        "teacher": {"d": 48, "layers": 2, "heads": 4, "ff": 192, "patch": 4, "stem": 32},
        "teacher_dropout": 0.1,
        "epochs": {"teacher": 6, "student": 40, "qat": 10},
        "lr": {"teacher": 2e-3, "student": 5e-3, "qat": 5e-4},
        "teacher_weight_decay": 1e-2,
        # No label-preserving view of a light curve is exact (time shifts move the alert):
        # no augmentation.
        "augment": None,
        "params_fraction_max": 0.05,
        "teacher_params_ratio_min": 20,
        "recall_min": {},
        # A broker follows up extragalactic transients by default (AGN and periodic variables
        # are known sources): the card's default trigger classes.
        "trigger_targets": ["SN Ia", "SN II", "SN Ibc", "SLSN", "TDE"],
    },
    "keywords": {
        # Issue 11 (in progress): MFCC [1, 49 frames, 10 coefficients] of 1 s at 16 kHz, MLPerf
        # Tiny's front end (host/src/modalities/audio, models/train/audio_features.py).
        "input": (1, 49, 10),
        "model": "ds_cnn",
        # DS-CNN width 64, 3 depthwise-separable blocks: 18,317 params with its batch norms
        # (17,869 folded), 2.07 M MACs; <= 20,000 params asked. Teacher widths (80, 160, 320, 480):
        # 1,967,453 params, 110x the folded student. Before (shipped until 2026-12-07): width 48
        # (11,101 folded params, 1.27 M MACs), teacher (64, 128, 256, 384), MatchboxNet at 0.5,
        # one music silence row per noise one, QAT: 85.4% on test, 82.7% on the 139 real
        # validation clips, 79.9% on held-out voices. Earlier: width 32 without the augmented
        # copies 75.6% on the real validation clips; width 48 with them 79.9% (teacher 82.7%).
        # Student stage alone from the (64, ..., 384) teacher (ratio rule lowered to 50 for it),
        # one seed, on the 139 real validation clips after folding and snapping (whole validation
        # split in brackets): width 48 at MatchboxNet 0.5 86.3% (84.7%), at 1.0 87.1% (86.2%),
        # width 64 at 1.0 88.5% (88.2%); width 48 at 1.0 with 10 QAT epochs 87.8%.
        # The music false alarms (2026-12-07, keywords_screen.py: the float student on the
        # validation speakers' stream and 3 min of seed-2 validation music, the detector grid of
        # keywords_detector.py): every one of them was "go" (sox tones read as a low vowel). Width
        # 64 with MatchboxNet 1.0 on all real rows from that teacher fired 12 times on the music at
        # 12 hops / 0.8; the full recipe with the (80, ..., 480) teacher (QAT 10) 37, and 8-95 at
        # every setting; it scored 86.1% on test, 87.1% on the real validation clips. Tried, all
        # from the (80, ..., 480) teacher, width 64, MatchboxNet 1.0, scored on validation:
        #  * MatchboxNet only on the clean real rows (no noise or music mixed in; the CNN teacher
        #    alone on the others; extra_teacher "rows": "clean"): 81.3% real validation (84.9%
        #    whole), 82.1% held-out voices, still 12 music false alarms at 12 hops / 0.8 and 41 on
        #    the validation stream: MatchboxNet's targets on music-mixed rows were not the cause.
        #  * Three music silence rows per noise one (keywords_data.MUSIC_SILENCE 3.0, 270 more
        #    training rows): 86.3% real validation (87.7% whole), 84.0% held-out voices, no music
        #    false alarm at 12 or 16 hops from 0.8 up; validation stream 96 true positives, 4 false
        #    alarms of 122 keywords at 12 hops / 0.8 (the width-48 model: 94 and 7). Shipped, with
        #    no QAT: 10 QAT epochs in the firmware's types took it to 85.6% on the real validation
        #    clips (test then 83.9%, 86.0% on voices), so QAT is off ("qat": 0) and the weights are
        #    only snapped (the fixed-point emulation equals the float student on validation).
        #    Seed 1 of the same (student stage): 86.3% real validation (86.5% whole), 80.3% held-out
        #    voices, no music false alarm at 12 or 16 hops / 0.8 (16 / 0.8: 98 tp, 0 false alarms
        #    on the validation stream): the music rows' effect holds; not tested, not shipped.
        # The teacher was not retrained for this: distill.py --teacher-from loads the (80, ...,
        # 480) teacher.onnx of the earlier full run (same seed and training rows but the 270 music
        # rows; 82.7% on the real validation clips, 89.1% on test). `make models` distils the student
        # from that committed teacher (distill.py --task keywords --data models/data/keywords --out
        # DIR --teacher-from models/zoo/keywords); without it, it trains a teacher afresh.
        "student_widths": (64,),
        "student_blocks": 3,
        "teacher_widths": (80, 160, 320, 480),
        "teacher_dropout": 0.3,
        "epochs": {"teacher": 20, "student": 60, "qat": 0},
        # The student stage's seed and torch threads (the thread count fixes the summation order:
        # the seed spread below was measured at 1 thread; HT_TORCH_THREADS overrides it).
        "seed": 1,
        "threads": 1,
        # The final fit (distill.py --fit train+validation) keeps this student epoch: the best one of
        # this recipe fitted on train alone (the shipped card's bestEpoch, 39 of 60 at seed 1; not
        # tried with 60 epochs). Of the 40-epoch recipe, 17 (below):
        # Tried 2026-12-07, not shipped: the student fitted on the train and validation speakers'
        # rows (10,391 + 495 validation rows + 902 augmented copies of the 139 real validation
        # clips: 11,788; the shipped teacher; class weights of all of them), epoch 17 of 40, the
        # detector kept at 16 hops / 0.8. Figures: real test clips, float (fixed point), held-out
        # voices, music false alarms at 16 / 0.8 on 3 min of seed-2 validation music
        # (keywords_screen.py) and on the card's 0.5 h of seed-1 music (keywords-streaming on sim),
        # the test speakers' stream on sim (the card's 98 of 117 and 8 false alarms):
        #  * 2 torch threads (the shipped run's numerics): 87.6% (86.9% fixed; conv2d_1 reaches
        #    32.4 on test, past its default type's +-32), 84.0% voices, 4 and 34 music false alarms (all "go"), test stream
        #    104 of 117 and 8 false alarms; fails the no-music-false-alarm rule.
        #  * 1 thread: 86.1% (86.1%), 83.8% voices, no music false alarm on either, test stream 98
        #    of 117 and 11 false alarms: equal on test, not better.
        #   (Real validation clips, fitted on: 95.0% and 94.2%.) The same recipe fitted on train at 1
        #   thread instead of 2 (a different summation order): 83.5% on the real validation clips
        #   (87.5% whole), 83.9% test, 79.4% voices, best epoch 12: a thread count moves a run by
        #   ~2 points and the music false alarms from none to 34, the noise of these figures.
        # 60 student epochs instead of 40 (1 thread, fitted on train; best epoch 58): 87.8% real
        # validation (89.3% whole; 40 epochs at 1 thread: 83.5%, 87.5%), 83.8% voices, but 6 music
        # false alarms at 16 / 0.8 on the seed-2 validation music (and >= 1 at every 16-hop
        # setting), so not carried into a final fit (its test figure, printed by distill.py: 86.1%).
        # Seed spread and choice (2026-12-07, later): each run the student stage alone from the
        # shipped teacher at 1 thread (HT_TORCH_THREADS=1, pinned to one core), fitted on train,
        # validation choosing the epoch as always; seeds 1, 2, 3 (seed 0: the runs above). The rule,
        # written down before any of these runs' test figures was read: a recipe is chosen by its
        # MEAN accuracy on the 139 real validation clips over its seeds (the card's validationReal,
        # the folded, snapped student); the candidate is the chosen recipe's run with the best real
        # validation accuracy whose float screen (keywords_screen.py, the seed-2 validation music)
        # has no music false alarm at the card's 16 hops / 0.8; it ships only if its test accuracy
        # is >= the shipped 86.1%, it has no false alarm on the validation or the card's music, and
        # its test-speaker stream is not worse than 98 of 117 / 8 false alarms by more than noise.
        # Figures per seed: real validation clips (whole validation split at the best epoch), best
        # epoch, held-out voices, screen at 16 hops / 0.8 (validation stream tp and false alarms,
        # music false alarms; in brackets music false alarms summed over the 5 thresholds at 16
        # hops), then test (recorded, not used to choose):
        #  * 40 epochs (the recipe shipped until now): seed 1 83.5% (87.5%), epoch 17, 85.3%
        #    voices, 94 / 2 / 12 music (76); seed 2 83.5% (88.3%), epoch 35, 83.7%, 99 / 1 / 25
        #    (144); seed 3 87.1% (87.3%), epoch 15, 83.0%, 98 / 3 / 0 (6). Test 83.2%, 86.9%, 87.6%.
        #    With seed 0 (83.5%, test 83.9%): real validation 84.4 +- 1.8%, test 85.4 +- 2.1%
        #    (mean +- sd of 4 seeds; seeds 1-3: 84.7 +- 2.1%, 85.9 +- 2.3%); the shipped 2-thread seed-0 model (86.3%, test 86.1%) is inside
        #    that spread, and 2 of the 3 new seeds fire on the validation music (12 and 25 times).
        #  * 60 epochs: seed 1 88.5% (89.5%), epoch 39, 83.7% voices, 104 / 3 / 0 (4); seed 2 85.6%
        #    (86.9%), epoch 34, 83.5%, 96 / 4 / 1 (56); seed 3 86.3% (88.5%), epoch 21, 83.5%,
        #    98 / 4 / 0 (4). Test 87.6%, 85.4%, 86.1%. With seed 0 (87.8%, 6 music false alarms,
        #    test 86.1%): real validation 87.1 +- 1.3%, test 86.3 +- 0.9% (4 seeds; seeds 1-3: 86.8 +- 1.5%, 86.4 +- 1.1%).
        #  Chosen by the rule: 60 epochs (mean real validation 87.1% against 84.4%), its seed 1
        #  (88.5%, no music false alarm at 16 / 0.8). Its test: 87.6% (120 of 137; fixed point the
        #  same), above the shipped 86.1%. Shipped (2026-12-07): student epochs 60, seed 1, 1 torch
        #  thread ("seed", "threads" below: distill.py's defaults for this task; `make models`
        #  distils it from the committed teacher, models/zoo/keywords/teacher.onnx, unchanged;
        #  distill.py --task keywords --data models/data/keywords --out DIR --teacher-from
        #  models/zoo/keywords with these defaults rewrote student.onnx byte for byte, sha256 724061d7...).
        #  The card's streams on sim (make keywords-card): test speakers 102 of 117, 6 false alarms
        #  (before: 98, 8); validation speakers 104 of 122, 3 false alarms (95, 3); no false alarm
        #  on 0.5 h of noise, 0.5 h of seed-1 music or 0.11 h of background; MLPerf's wake-word
        #  stream 1 of 3 "marvin" (42 ms after it), no false alarm. Firmware: top-1 agreement
        #  999 of 1,000 (card_precision below), 961 cycles = 4.81 us at 200 MHz.
        #  Still short of MLPerf Tiny's 90% (124 of 137): the 60-epoch seeds' test mean is 86.3%.
        # One lever aimed at `unknown` (test recall 64%, the weakest class), 2026-12-07 late: the
        # student's hard-label cross entropy weighs `unknown` x2 ("ce_class_scale" below, distill.py
        # --class-weight unknown=2). Its inverse-frequency weight is the lowest of all (0.575: 1,391
        # of 10,391 rows, the most of any class), so a miss on `unknown` cost half a keyword's; x2
        # makes it 1.149. The KD term (alpha 0.7) is unchanged. Seeds 1, 2, 3, everything else the
        # shipped recipe's (60 epochs, 1 thread, the shipped teacher, fitted on train). The rule,
        # written before any of these runs' figures was read: the lever is chosen if its MEAN real
        # validation accuracy over seeds 1-3 beats the shipped recipe's seeds 1-3 (86.8%); its
        # candidate is its seed with the best real validation accuracy and no music false alarm
        # in the float screen at 16 hops / 0.8 (keywords_screen.py, the seed-2 validation music);
        # it ships only if its test accuracy >= 87.6% (the shipped 120 of 137), no false alarm
        # on the validation or the card's music, and its test-speaker stream on sim is not worse
        # than 102 of 117 / 6 false alarms. Otherwise "ce_class_scale" stays {} (the option kept).
        # Figures per seed (as the 60-epoch ones above: real validation clips (whole validation
        # split), best epoch, held-out voices, screen at 16 / 0.8 as validation stream tp / false
        # alarms / music false alarms (music false alarms summed over 16 hops' 5 thresholds), then
        # test, read after the choice): seed 1 86.3% (89.1%), epoch 47, 82.2% voices, 99 / 3 / 1
        # (21); seed 2 82.0% (85.5%), epoch 43, 87.0%, 99 / 5 / 0 (7); seed 3 85.6% (88.3%),
        # epoch 33, 81.7%, 95 / 4 / 0 (1). Real validation 84.6 +- 2.3% (mean +- sd of seeds 1-3)
        # against the shipped recipe's 86.8 +- 1.5%: lower for every seed (88.5, 85.6, 86.3%
        # there), so NOT chosen (not shipped; "ce_class_scale" stays {}). `unknown` recall on the
        # 10 real validation clips 80%, 40%, 80% (the shipped seed 1: 90%): too few clips to aim at.
        # Test (recorded, not used): 88.3% (121 of 137), 81.8%, 84.7% (fixed point 88.3, 82.5,
        # 84.7%), 84.9 +- 3.3% against 86.4 +- 1.1%; `unknown` test recall 64%, 50%, 93% (the
        # shipped student: 64%). The x2 moved the seed spread, not the mean, and cost the keywords
        # the validation clips measure; seed 1's 88.3% test would fail anyway (1 music false alarm).
        "fit_student_epoch": 39,
        # Per-label factors on the student's cross-entropy class weights (distill.py --class-weight).
        "ce_class_scale": {},
        # An exponential moving average of the student's weights and batch-norm buffers (train.py
        # WeightAverage, distill.py --student-ema DECAY): the decay per optimiser step; the averaged
        # model is validated each epoch and kept. None: off.
        # Tried 2026-12-08 (a lever aimed at the epoch-to-epoch noise of the best-epoch choice): decay
        # 0.998 per step, chosen before any run. An epoch is 82 steps (10,391 rows / batch 128), so
        # the average's time constant 1 / (1 - d) is 500 steps, ~6 epochs (half-life 346 steps, ~4):
        # several epochs, to smooth what the whole validation split's balanced accuracy swings by
        # from one epoch to the next, and short against the 60-epoch cosine schedule, so it mixes
        # weights of nearly one learning rate. Debiased (Adam's 1 - d^t), it puts no weight on the
        # random initial weights. The training itself is unchanged (the average only reads the
        # weights: same random streams), so each seed's trajectory is the shipped recipe's; only the
        # model validated and kept differs. Seeds 1, 2, 3, everything else the shipped recipe's
        # (60 epochs, 1 thread, the shipped teacher, fitted on train): distill.py --task keywords
        # --data models/data/keywords --out DIR --teacher-from models/zoo/keywords --seed S
        # --student-ema 0.998. The rule, written before any real-validation or test figure of these runs
        # was read (seed 1 was at its 7th epoch of 60): the
        # lever is chosen if its MEAN real validation accuracy over seeds 1-3 beats the shipped
        # recipe's seeds 1-3 (86.8%); if seeds 1 and 2 both fall clearly below (their mean < 85%),
        # seed 3 is not run and the lever is not chosen. Its candidate is its seed with the best
        # real validation accuracy and no music false alarm in the float screen at 16 hops / 0.8
        # (keywords_screen.py, the seed-2 validation music); it ships only if its test accuracy
        # >= 87.6% (the shipped 120 of 137), no false alarm on the validation or the card's music,
        # and its test-speaker stream on sim is not worse than 102 of 117 / 6 false alarms.
        # Otherwise "student_ema" stays None (the option kept).
        # Figures per seed (as the 60-epoch ones above: real validation clips (whole validation
        # split at the best epoch), best epoch, held-out voices, screen at 16 / 0.8 as validation
        # stream tp / false alarms / music false alarms (music false alarms summed over 16 hops' 5
        # thresholds), then test, read after the choice): seed 1 87.1% (89.1%), epoch 27, 84.4%
        # voices, 101 / 2 / 0 (7); seed 2 86.3% (87.3%), epoch 48, 83.3%, 98 / 106 / 2 (35); seed 3
        # 87.8% (88.7%), epoch 23, 83.7%, 97 / 3 / 0 (2). Real validation 87.1 +- 0.7% (mean +- sd of
        # seeds 1-3; 363 of 417 clips) against the shipped recipe's 86.8 +- 1.5% (362 of 417): it
        # beats it by one clip, so chosen by the rule; its candidate is seed 3 (the best real
        # validation, no music false alarm at 16 / 0.8). Its test: 86.9% (119 of 137; fixed point
        # the same), below the shipped 120 of 137, so NOT shipped ("student_ema" stays None; the
        # stream checks on sim were not run). Test of the three (recorded, not used to choose):
        # 88.3% (121 of 137), 86.1%, 86.9%: 87.1 +- 1.1% against 86.4 +- 1.1%; whole validation
        # 88.4% against 88.3%, voices 83.8% against 83.6%. The average smooths the validation curve
        # (seed 1's whole-split balanced accuracy moves <= 0.6 points an epoch after epoch 25) but
        # the mean gain is one clip in 417 on validation and ~1 test clip a seed: noise against the
        # seeds' spread. Seed 2's 106 validation-stream false alarms were all "go" but two, fired
        # 0.1-0.2 s into a clip after the stream's 1 s of digital silence: that student calls
        # 232 of the stream's 233 all-zero windows "go" (the shipped recipe's seed 2: 4 false alarms).
        # A longer schedule with the average, 2026-12-08 (issue 11): 100 student epochs (the cosine
        # schedule stretches with them: distill.py --student-epochs 100) and --student-ema 0.998,
        # seeds 1-3, everything else the shipped recipe's (1 thread, the shipped teacher, fitted on
        # train): distill.py --task keywords --data models/data/keywords --out DIR --teacher-from
        # models/zoo/keywords --seed S --student-epochs 100 --student-ema 0.998. 40 -> 60 epochs
        # raised the seeds' mean by ~2.7 points; the average's ~6-epoch time constant is shorter
        # still against a 100-epoch cosine. The rule, written before any real-validation or test
        # figure of these runs was read (seed 1 in its first epochs): the recipe is chosen if its
        # MEAN real validation accuracy over seeds 1-3 beats BOTH the shipped recipe's 86.8% and the
        # 60-epoch average's 87.1%; if seeds 1 and 2 both come in below 86.8%, seed 3 is not run and
        # it is not chosen. Its candidate is its seed with the best real validation accuracy and no
        # music false alarm in the float screen at 16 hops / 0.8 (keywords_screen.py, the seed-2
        # validation music); it ships only if its test accuracy >= 88.3% (121 of 137: beating the
        # shipped 120 by a clip, not tying it), no false alarm on the validation or the card's
        # music, and its test-speaker stream on sim is not worse than 102 of 117 / 6 false alarms.
        # Otherwise "epochs" and "student_ema" stay as they are.
        # Figures per seed (as above: real validation clips (whole validation split at the best
        # epoch), best epoch, held-out voices, screen at 16 / 0.8 as validation stream tp / false
        # alarms / music false alarms (summed over 16 hops' 5 thresholds), then test): seed 1 86.3%
        # (120 of 139; 87.3%), epoch 31 of 100, 85.1% voices, 99 / 2 / 4 (63); seed 2 83.5% (116 of
        # 139; 87.1%), epoch 27, 85.8%, 95 / 12 / 0 (1). Both below 86.8%, so seed 3 was not run and
        # the recipe is NOT chosen (not shipped; "epochs" and "student_ema" unchanged). Test
        # (recorded, not used): 86.9% (119 of 137), 86.1% (118); fixed point the same. The longer
        # schedule does not reach the epochs it adds: the best epoch stays near 30 (the 60-epoch
        # average's seeds: 27, 48, 23) and the whole validation split's balanced accuracy falls
        # after it as the learning rate comes down (seed 1: 0.898 at epoch 30, 0.883 at 60, 0.876 at
        # 100; seed 2: 0.877, 0.843, 0.826), so 100 epochs only stretch the high-rate phase the
        # kept epoch comes from; voices gain ~2 points (85.1, 85.8% against 84.4, 83.3%), the real
        # clips lose 0.8 and 2.8. distill.py --student-epochs (existing) sets the length;
        # test_student_epochs.py checks its parsing and that the cosine stretches over it.
        "student_ema": None,
        # AdamW's decoupled weight decay in the student stage only (distill.py --student-weight-decay
        # X; the teacher keeps "teacher_weight_decay", QAT none). 0: none, the student as shipped.
        # Tried 2026-12-08 (issue 11), aimed at the late overfit above (the best epoch near 30 and
        # the whole validation split's balanced accuracy falling as the learning rate comes down):
        # 1e-3, chosen before any run, with --student-ema 0.998, 60 epochs, seeds 1-3, everything
        # else the shipped recipe's (1 thread, the shipped teacher, fitted on train): distill.py
        # --task keywords --data models/data/keywords --out DIR --teacher-from models/zoo/keywords
        # --seed S --student-ema 0.998 --student-weight-decay 1e-3. Why 1e-3: AdamW shrinks each
        # weight by lr x X a step beside Adam's normalised step of ~lr, so it pulls a weight w only
        # where its normalised gradient averages below X |w| (~1e-4..1e-3 for these weights): the
        # directions the late, low-rate epochs only drift along, not those the data drives. Twice
        # the teacher's 5e-4 at 2.5x its rate (lr x X 5e-6 a step at the peak against 1e-6); over
        # the 4,920 cosine steps a weight with no gradient shrinks by exp(-sum lr X) = 0.988, so
        # this is a mild step, not a regulariser that reshapes the net (the student has ~20 k
        # weights for 10,391 rows). The rule, written before any real-validation or test figure of
        # these runs was read (seed 1 at its first epochs): the lever is chosen if its MEAN real
        # validation accuracy over seeds 1-3 beats the EMA recipe's 87.1% (itself above the
        # shipped 86.8%); if seeds 1 and 2 both come in below 86.8%, seed 3 is not run and it is
        # not chosen. Its candidate is its seed with the best real validation accuracy and no music
        # false alarm in the float screen at 16 hops / 0.8 (keywords_screen.py, the seed-2
        # validation music); it ships only if its test accuracy >= 88.3% (121 of 137), no false
        # alarm on the validation or the card's music, and its test-speaker stream on sim is not
        # worse than 102 of 117 / 6 false alarms. Otherwise "student_weight_decay" stays 0.0 and
        # "student_ema" None (the option kept).
        # Figures per seed (as above: real validation clips (whole validation split at the best
        # epoch), best epoch, held-out voices, screen at 16 / 0.8 as validation stream tp / false
        # alarms / music false alarms (summed over 16 hops' 5 thresholds), then test): seed 1 83.5%
        # (116 of 139; 85.5%), epoch 23, 82.1% voices, 97 / 4 / 0 (5); seed 2 86.3% (120 of 139;
        # 86.3%), epoch 18, 83.5%, 101 / 3 / 0 (1). Both below 86.8%, so seed 3 was not run and the
        # lever is NOT chosen (not shipped; "student_weight_decay" stays 0.0, "student_ema" None).
        # Test (recorded, not used): 86.9% (119 of 137), 83.2% (114); fixed point the same. Against
        # the same seeds with the average alone (87.1%, 86.3% real validation; 89.1%, 87.3% whole;
        # epochs 27, 48; test 88.3%, 86.1%) the decay lost 5 clips and 0 on the real validation
        # clips and ~1-4 points on the whole split. It did not stop the late fall it was aimed at:
        # the whole split's balanced accuracy at epochs 30 / 60 is 0.881 / 0.854 (seed 1) and
        # 0.886 / 0.875 (seed 2), the best epoch came earlier still (23, 18). As computed above the
        # decay's own pull is ~1% over the schedule, so the change is mostly a different trajectory
        # (seed noise), not regularisation (1e-2 would pull such a weight by 12%: untried).
        # 1e-2 with the average, 2026-12-08 (issue 11): ten times the step above, so a weight with
        # no gradient shrinks by exp(-sum lr X) ~ 0.88 over the 4,920 cosine steps: a pull that
        # reaches the weights the late epochs only drift along. --student-ema 0.998, 60 epochs,
        # seeds 1-3, everything else the shipped recipe's (1 thread, the shipped teacher, fitted on
        # train): distill.py --task keywords --data models/data/keywords --out DIR --teacher-from
        # models/zoo/keywords --seed S --student-ema 0.998 --student-weight-decay 1e-2. The rule,
        # written before any real-validation or test figure of these runs was read (seed 1 in its
        # first epoch): the lever is chosen if its MEAN real validation accuracy over seeds 1-3
        # beats the EMA recipe's 87.1%; if seeds 1 and 2 both come in below 86.8%, seed 3 is not
        # run and it is not chosen. Its candidate is its seed with the best real validation
        # accuracy and no music false alarm in the float screen at 16 hops / 0.8
        # (keywords_screen.py, the seed-2 validation music); it would ship only if its test
        # accuracy >= 88.3% (121 of 137), no music false alarm, and its test-speaker stream on sim
        # is not worse than 102 of 117 / 6 false alarms. Not shipped in this session even if it
        # qualifies (the shipping steps do not fit its time): the verdict is recorded here.
        # Figures per seed (as above: real validation clips (whole validation split at the best
        # epoch), best epoch, held-out voices, screen at 16 / 0.8 as validation stream tp / false
        # alarms / music false alarms (summed over 16 hops' 5 thresholds), then test): seed 1 89.9%
        # (125 of 139; 88.9%), epoch 32, 85.3% voices, 100 / 0 / 0 (0); seed 2 86.3% (120; 87.5%),
        # epoch 21, 84.4%, 100 / 3 / 3 (56); seed 3 84.9% (118; 89.3%), epoch 31, 85.1%, 96 / 3 / 0
        # (2). Real validation 87.1 +- 2.6% (mean +- sd of seeds 1-3; 363 of 417 clips, 87.05%):
        # the same 363 clips as the EMA recipe alone, so it does not beat 87.1% and the lever is
        # NOT chosen (no ship candidate; "student_weight_decay" stays 0.0, "student_ema" None; the
        # runs' folders are not kept in the zoo). Test (recorded, not used to choose): 84.7% (116
        # of 137), 87.6% (120), 87.6% (120); fixed point the same; 86.6 +- 1.7% against the EMA
        # recipe's 87.1 +- 1.1%. Seed 1, the best real validation and the candidate had the lever
        # been chosen, screens clean (no false alarm on either stream at any threshold of 16 hops)
        # but is the worst on test (116 of 137, below the 121 needed): 139 real validation clips
        # (one clip = 0.7 points) do not rank seeds 7 validation clips and 4 test clips apart. Seed
        # 2 fires 3 times on music at 16 / 0.8. Whole validation at the best epoch 88.5% against
        # 88.4% (EMA alone), voices 84.9% against 83.8%. The late fall remains in seeds 1 and 3:
        # the whole split's balanced accuracy at epochs 30 / 60 is 0.905 / 0.879 (seed 1), 0.880 /
        # 0.883 (seed 2), 0.892 / 0.869 (seed 3); the best epochs (32, 21, 31) stay near 30. Over
        # the two decays tried with the average (1e-3, 1e-2) no setting moves the seeds' mean
        # beyond their spread: weight decay is not the lever for the 90% goal.
        "student_weight_decay": 0.0,
        "lr": {"teacher": 2e-3, "student": 5e-3, "qat": 5e-4},
        "teacher_weight_decay": 5e-4,
        # The waveform augmentation is keywords_data.py's (copies of the real clips); no D4.
        # Tried 2026-12-08 (issue 11), aimed at the scarce real data (the late overfit above: best
        # epoch ~20-30 of 60): 18 augmented copies of each real training clip instead of 6 (marvin
        # copies left at 40; keywords_data.py --copies 18 --marvin-copies 40, the same seed 1, so
        # the real, synthetic, validation and test rows are the shipped data's and only the
        # augmented train rows differ: 18 x 1,102 + 40 x 3 = 19,956 of them against 6,732, ~23.6 k
        # train rows against 10,391). The student schedule is halved to 30 epochs so the optimiser
        # takes about as many steps as the shipped 60 on 10,391 rows (185 against 82 an epoch: ~5,550
        # steps against 4,920): more diverse data at about equal compute, not more compute.
        # Everything else the shipped recipe's (1 thread, the shipped teacher, fitted on train):
        # keywords_features.py --matchboxnet on that audio, then distill.py --task keywords --data
        # models/data/keywords-c18 --out DIR --teacher-from models/zoo/keywords --seed S
        # --student-epochs 30. The rule, written before any real-validation or test figure of
        # these runs exists (the data still building): the lever is chosen if its MEAN real
        # validation accuracy over seeds 1-3 beats the EMA recipe's 87.1% (the best recipe
        # measured); if seeds 1 and 2 both come in below 86.8%, seed 3 is not run and it is not
        # chosen. Its candidate is its seed with the best real validation accuracy and no music
        # false alarm in the float screen at 16 hops / 0.8 (keywords_screen.py, the seed-2
        # validation music); it ships only if its test accuracy >= 88.3% (121 of 137), no music
        # false alarm on the validation or the card's music, no trigger on 30 s of digital silence
        # (hairtrigger replay zero.wav --pacing max: 0), and its test-speaker stream on sim is not
        # worse than 102 of 117 / 6 false alarms. Otherwise the copies stay 6 and the epochs 60.
        # Tie-break, added after seeds 1 and 2 came in level on the real validation clips (124 of
        # 139 each; their test figures were printed by distill.py by then) and before seed 3's
        # figures or any screen existed: between seeds level on the real validation clips, the
        # candidate is the one with the higher balanced accuracy on the whole validation split at
        # its best epoch (distill.py's own selection metric), then the earlier seed.
        # The data (core 0): keywords_data.py 156 s, keywords_features.py --matchboxnet 97 s; 23,615
        # train rows (real 1,105, synthetic 2,554, augmented 19,956), validation 495 (139 real),
        # test 137; the real and synthetic train rows (clips, labels, backgrounds, MatchboxNet
        # targets) and every validation, test and held-out-voice row identical to the shipped
        # data's; no test speaker among the train keys (so none among the copies). 494-530 s a seed.
        # Figures per seed (as above: real validation clips (whole validation split at the best
        # epoch), best epoch of 30, held-out voices, screen at 16 / 0.8 as validation stream tp /
        # false alarms / music false alarms (summed over 16 hops' 5 thresholds), then test): seed 1
        # 89.2% (124 of 139; 88.9%, balanced 0.891), epoch 25, 84.2% voices, 103 / 0 / 10 (64); seed
        # 2 89.2% (124; 87.7%, balanced 0.890), epoch 15, 82.1%, 99 / 35 / 0 (3); seed 3 88.5% (123;
        # 87.7%), epoch 21, 83.1%, 103 / 2 / 0 (9). Real validation 89.0 +- 0.4% (mean +- sd of seeds
        # 1-3; 371 of 417 clips) against the EMA recipe's 87.1% and the shipped recipe's 86.8 +- 1.5%
        # (88.5, 85.6, 86.3%): higher for every seed, a quarter of the spread, so the lever is
        # CHOSEN. Test (read after): 87.6% (120 of 137), 89.8% (123), 86.1% (118); fixed point the
        # same; 87.8 +- 1.8% against the shipped recipe's 86.4 +- 1.1%. Candidate: seed 2 (seed 1,
        # level with it and ahead on the tie-break, fires 10 times on the music at 16 / 0.8). Its
        # test 89.8% passes 88.3%; on 30 s of digital silence on sim 0 triggers (1,451 hops, all
        # silence); compile --check 1000 top-1 agreement 1,000 of 1,000 (seeded N(0,1) inputs: the
        # test split is not beside a /tmp run), 961 cycles; the card's streams on sim
        # (keywords-streaming --backend sim --minutes 10 --seed 1): no false alarm on 0.5 h of
        # noise, 0.5 h of seed-1 music or 0.11 h of background, but the test speakers' stream 98 of
        # 117 with 20 false alarms (the validation speakers' 99 of 122, 35), worse than the shipped
        # 102 / 6, and MLPerf's wake-word stream 0 of 3 "marvin" (it says "go" twice). So NOT
        # shipped (the copies stay 6, the student epochs 60). Its streams over-fire "go" (46 "go"
        # triggers on the validation stream for its 12 "go" words; 35 on the test stream for 11),
        # the word the earlier runs' music false alarms were; seeds 1 and 3 do not on the validation
        # stream (0 and 2 false alarms). At about equal compute the 18 copies moved the real
        # validation mean 2.2 points above the shipped recipe's, beyond its seed spread; the "go"
        # false alarms on streams (seed 2) and music (seed 1) keep its seeds from shipping.
        # Its detector, rule written 2026-12-08 before the run (the card's detector was chosen for
        # the shipped student; this comment says "rerun it after retraining", not done above):
        # keywords_detector.py --model <seed 2's run> --music <the seed-2 validation music, 3 min>
        # (the student on sim: its firmware at hls/build/keywords_student for the run, the default
        # replay --firmware). The candidate detector is the printed global setting (smoothing x
        # threshold with the most true positives less false alarms on the validation speakers'
        # stream and that music) plus per-keyword thresholds only for the words whose own choice
        # differs from the global threshold: the script's output as designed, chosen on validation
        # only; the test speakers stay out of the choice. Then the gates with that detector in the
        # card: no false alarm on the validation music (the script's check replay) nor on the
        # card's noise, music and background streams (keywords-streaming --backend sim --minutes 10
        # --seed 1), 0 triggers on 30 s of digital silence (replay --pacing max), and the test
        # speakers' stream on sim not worse than the shipped 102 of 117 / 6 false alarms, where
        # tp >= 100 and false alarms <= 8 counts as not worse by more than noise; MLPerf's wake-word
        # stream recorded, not a gate. All pass: ship (copies 18, student epochs 30, seed 2, that
        # detector). Any fails: figures and verdict here, not shipped.
        # Run (2026-12-08, 2 min on core 0): the grid's best is 8 hops / 0.95 (97 tp, 25 misses, 2
        # false alarms of 122 keywords, none on the 180 s of music; 16 / 0.8 there: 99 tp, 35 false
        # alarms); the words whose own threshold differs: down 0.5, left 0.8, marvin 0.5, no 0.8,
        # off 0.5 (go, on, right, stop, up, yes at 0.95), with them 105 tp, 17 misses, 4 false alarms
        # on the validation stream and none on the music. Gates with {"smoothFrames": 8,
        # "threshold": 0.95, "thresholds": {those five}, "debounceMs": 1000}: validation music 0,
        # the card's streams on sim 0 on 0.5 h of noise, 0.5 h of seed-1 music and 0.11 h of
        # background, 30 s of digital silence 0 triggers: pass; the test speakers' stream on sim 95
        # of 117 with 16 false alarms (off 7, go 4, yes, no, up, down, on 1 each): FAILS (tp < 100,
        # false alarms > 8; the card's detector gave it 98 / 20). MLPerf's wake-word stream 1 of 3
        # "marvin" (trigger 98 ms before the window's end), no false alarm, one "go" heard. So NOT
        # shipped: the copies stay 6, the student epochs 60, the card's detector 16 / 0.8. Off's
        # 0.5, chosen on the validation stream (12 of 13 there, no false alarm), fires 7 times
        # on the test speakers: per-keyword thresholds from ~12 clips a word do not carry across
        # speakers, and the validation stream does not rank this model's "go" and "off" false alarms.
        # The 18 copies with the weight average, 2026-12-08 (issue 11): the 18-copies recipe above
        # (models/data/keywords-c18, 30 student epochs) with --student-ema 0.998, seeds 1-3,
        # everything else the same (1 thread, the shipped teacher, fitted on train): distill.py
        # --task keywords --data models/data/keywords-c18 --out DIR --teacher-from
        # models/zoo/keywords --seed S --student-epochs 30 --student-ema 0.998. Why: the 18-copies
        # seeds (real validation 89.2, 89.2, 88.5%) differ in how their best epoch's model fires on
        # streams (seed 1 on music, seed 2 "go" / "off" on speech); the average smoothed the
        # epoch-to-epoch swings before. An epoch is ~185 steps here, so the average's ~500-step time
        # constant is ~2.7 epochs of 30. The rule, written before any figure of these runs exists:
        # the recipe is chosen if its MEAN real validation accuracy over seeds 1-3 is >= the
        # 18-copies recipe's 89.0% (371 of 417 clips); if seeds 1 and 2 both come in below 88.0%,
        # seed 3 is not run and it is not chosen. Its candidate: among its seeds whose float screen
        # at 16 hops / 0.8 (keywords_screen.py, the seed-2 validation music) has no music false
        # alarm and at most 4 false alarms on the validation speakers' stream, the one with the
        # best real validation accuracy (tie: the higher balanced accuracy on the whole validation
        # split at its best epoch, then the earlier seed). Gates: test >= 88.3% (121 of 137), 0
        # triggers on 30 s of digital silence (replay --pacing max), no false alarm on the card's
        # noise, music and background streams (keywords-streaming --backend sim --minutes 10 --seed
        # 1), and the test speakers' stream on sim at the card's detector (16 / 0.8) with tp >= 100
        # and false alarms <= 8. All pass: ship (copies 18 in the Makefile's keywords_data.py
        # command, student epochs 30, student_ema 0.998, that seed). Any fails: figures and verdict
        # here, not shipped.
        # Figures per seed (as above: real validation clips (whole validation split at the best
        # epoch, its balanced accuracy), best epoch of 30, held-out voices, screen at 16 / 0.8 as
        # validation stream tp / false alarms / music false alarms (summed over 16 hops' 5
        # thresholds), then test, read after the choice): seed 1 89.9% (125 of 139; 87.9%, balanced
        # 0.899), epoch 13, 83.5% voices, 104 / 1 / 5 (32); seed 2 89.2% (124; 87.5%, 0.883), epoch
        # 16, 84.4%, 103 / 3 / 0 (8); seed 3 85.6% (119; 86.5%, 0.875), epoch 16, 82.8%, 100 / 2 / 0
        # (5). Real validation 88.2 +- 2.3% (mean +- sd of seeds 1-3; 368 of 417 clips) against the
        # 18-copies recipe's 89.0% (371 of 417): below it, so NOT chosen (not shipped; "epochs",
        # "seed" and "student_ema" unchanged, the copies stay 6). 449-498 s a seed on core 0. Test
        # (recorded, not used to choose): 88.3% (121 of 137), 92.0% (126), 88.3% (121); fixed point
        # the same; 89.5 +- 2.1% against the 18-copies recipe's 87.8 +- 1.8% and the shipped
        # recipe's 86.4 +- 1.1%. Against the same seeds without the average (124, 124, 123 real
        # validation clips) it gained one clip at seed 1 and lost 4 at seed 3. The average moved
        # the best epoch earlier (13, 16, 16 against 25, 15, 21) and flattened the curve after it
        # (whole-split balanced accuracy at epochs 15 / 30: 0.894 / 0.885, 0.882 / 0.880, 0.871 /
        # 0.873), and the screens' validation streams are quiet at every seed (1-3 false alarms
        # against 0, 35, 2), but seed 1 still fires on the music (5 at 16 / 0.8). Seed 2, the
        # candidate had the recipe been chosen (seed 1 fires on the music), would have passed the
        # test gate at 92.0%; its other gates, run after the verdict and not used (the recipe is not
        # chosen): 30 s of digital silence on sim 0 triggers (1,451 hops); the card's streams on sim
        # at 16 / 0.8 (keywords-streaming --backend sim --minutes 10 --seed 1) no false alarm on 0.5 h
        # of noise, 0.5 h of seed-1 music or 0.11 h of background; the test speakers' stream 105 of
        # 117 with 6 false alarms (the shipped student: 102 / 6), the validation speakers' 103 of
        # 122 with 3; compile --check 1000 top-1 agreement 991 of 1,000 with the card's precision,
        # 961 cycles; MLPerf's wake-word stream 0 of 3 "marvin" (the shipped student: 1 of 3). So
        # seed 2 alone would pass every gate, but the rule chooses recipes by their seeds' mean and
        # seed 3 (119 of 139) holds it below 89.0%: the average does not narrow the seed spread
        # (sd 2.3 points against 0.4 without it).
        # SpecAugment (data.spec_augment) on the teacher's batches ("spec_augment": ("teacher",))
        # was tried: with 15 teacher epochs (and 36/8) the teacher underfit (train loss 0.40):
        # 78.4% on the 139 real validation clips (teacher 77.0%), against 79.9% (teacher 82.7%)
        # for this recipe. On the student and QAT batches instead: 82.7% on the real validation
        # clips but 83.0% against 86.5% on the whole validation split (real and synthetic,
        # the selection metric); left off.
        "augment": None,
        # MatchboxNet-3x1x64 (NeMo, trained on Speech Commands; ../shared/data/models/matchboxnet-kws,
        # used in training only, never shipped) names 91% of 135 real validation clips' words (the
        # CNN teacher: 82.7%): its probabilities mapped to our labels (matchboxnet_teacher.py,
        # written by keywords_features.py --matchboxnet) are mixed with the CNN teacher's targets
        # on the real and augmented real rows; on espeak voices it is weaker (66%) and left out.
        # Student stage alone from one teacher: 84.2% on the 139 real validation clips (87.7% on
        # the whole validation split) with weight 0.5, 80.6% (85.4%) without.
        "extra_teacher": {"file": "train_matchboxnet.npy", "weight": 1.0, "rows": "real"},
        # QAT runs in the firmware's types (card_precision below, firmware_types.py): until then it
        # saturated the input at +-32 where the firmware and the float ONNX take c0 down to -124,
        # and the card's emulated 89.1% was no network's (the firmware scored 83.2%, as the float
        # model). Retrained so: 82.7% on the 139 real validation clips (82.0% before), float and
        # fixed alike on test.
        "recall_min": {},
        "trigger_targets": ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "marvin"],
        # Streaming detection, the card's trigger.detector (the `detector` router a replay without
        # route uses): posteriors averaged over 16 hops, fire at 0.8, 1 s debounce as MLPerf
        # Tiny's streaming benchmark. Chosen on the validation speakers' stream and 3 min of
        # validation music (seed 2) by models/train/keywords_detector.py --music (most true
        # positives less false alarms of 25 settings; rerun it after retraining): 95 tp, 27 misses,
        # 3 false alarms of 122 keywords, none on the music (12 hops / 0.8: 96, 26, 4, none; no
        # setting from 0.7 up at 3-16 hops fires on the music). Its per-keyword thresholds (96 tp,
        # 1 false alarm on the same stream they were chosen on) are left out: two words' gain on
        # the stream that picked them.
        "trigger_detector": {"smoothFrames": 16, "threshold": 0.8, "thresholds": {}, "debounceMs": 1000},
        # The latency budget: one 20 ms hop (the next hop's audio is complete by then).
        "trigger_budget_us": 20000,
        # Beside the card's modelled latency (compile --card writes `fpga`): the published figure.
        "card_extra": {"fpgaPublished": {"latencyUs": 17.5, "model": "MLPerf Tiny KWS DS-CNN (hls4ml/FINN)",
                                         "note": "see docs/latency-model.md; compare with fpga.latencyUs"},
                       # The seed spread of this recipe (the comment above): one run says little.
                       "seedSpread": {"seeds": [0, 1, 2, 3], "threads": 1, "studentEpochs": 60,
                                      "validationRealAccuracy": {"mean": 0.8705, "sd": 0.0131,
                                                                 "perSeed": [0.8777, 0.8849, 0.8561, 0.8633]},
                                      "testAccuracy": {"mean": 0.8631, "sd": 0.0091,
                                                       "perSeed": [0.8613, 0.8759, 0.854, 0.8613]},
                                      "note": "the student stage from the shipped teacher, fitted on train, per seed; this card's model is seed 1, the best on the real validation clips with no validation-music false alarm (chosen without its test figure; models/train/tasks.py)"}},
        # The firmware's types, written into the card (hairtrigger compile reads them there).
        "card_precision": {"why": "Profiled on the width-64 student (hairtrigger compile models/zoo/keywords --profile --check 500, 500 held-out clips): MFCC c0 (the log energy) reaches -123.6, past the default input type's +-32, so the input gets ap_fixed<16,8> (+-128). dwconv2d_0/relu_1 (the first depthwise conv) and conv2d_3/relu_6 (the last pointwise conv) get one more integer bit each: the 40-epoch student reached 30.4 and 33.8 there, the 60-epoch seed-1 one (shipped 2026-12-07) 33.6 and 42.7. The other layers keep the default +-32, the types this student was trained and emulated in; on the check its conv2d_0/relu_0 saturate 38 and 30 times of 4 M values (up to 38.4), conv2d_1 once (-34.6), and the logits (dense_0) 5 times of 6,500 (down to -37.6, far below the top logit). With these types the C simulation agrees top-1 with the float model on 999 of 1,000 held-out clips (compile --check 1000 --card).", "input": "ap_fixed<16,8,AP_TRN,AP_SAT>", "layers": {"dwconv2d_0": {"result": "ap_fixed<16,7,AP_TRN,AP_SAT>"}, "relu_1": {"result": "ap_fixed<16,7,AP_TRN,AP_SAT>"}, "conv2d_3": {"result": "ap_fixed<16,7,AP_TRN,AP_SAT>"}, "relu_6": {"result": "ap_fixed<16,7,AP_TRN,AP_SAT>"}}},
    },
}

# Targets every task shares, unless a task sets its own params_fraction_max.
STUDENT_PARAMS_FRACTION_MAX = 0.02
ACCURACY_GAP_POINTS_MAX = 3.0


def params_fraction_max(cfg):
    """Largest student/teacher params ratio a task's target allows."""
    return cfg.get("params_fraction_max", STUDENT_PARAMS_FRACTION_MAX)
