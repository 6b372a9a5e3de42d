"""Per-task recipe: architectures, default epochs and learning rates, targets.

Epochs are sized so both tasks train in about 25 minutes on 2 CPU cores
(see README.md for the measured throughput behind them).
"""

TEACHER_PARAMS_RATIO_MIN = 100  # teacher params / student params, at least

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
}

# Targets every task shares.
STUDENT_PARAMS_FRACTION_MAX = 0.02
ACCURACY_GAP_POINTS_MAX = 3.0
