// The split-conformal guarantee on real held-out labelled data: the BCCD test recording (945 real
// blood cells) and the synthetic lymphocyte recording (1,000 cells, a less certain model), each
// scored once by its student's firmware on the sim backend. Over 500 seeded random halvings
// into a calibration and a test part, the thresholds `calibrateThresholds` chooses on the
// calibration part are measured on the test part:
// - the mean achieved rate keeps the guarantee (recall >= 1 - alpha, false-trigger <= alpha);
// - with ties broken at random (ranks; test/support/conformal-splits.ts), the number of splits whose test rate breaks the target
//   matches the beta-binomial law of split-conformal coverage, computed here independently:
//   the test part's misses are BetaBinomial(m, k, n + 1 - k) for recall and its false triggers
//   BetaBinomial(m, n + 1 - k, k), where n and m are the calibration and test counts of the split;
// - on the raw scores (ties as the firmware makes them) violations are no more frequent.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreLabelledData } from '../../host/src/calibration/score-data.js';
import type { CalibrationRequest, LabelledScores } from '../../host/src/calibration/thresholds.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { createRng } from '../../host/src/core/rng.js';
import { readModelCard } from '../../host/src/model/card.js';
import { checkGuarantee, describeRequest } from '../support/conformal-splits.js';
import { REPO, ZOO } from '../support/fixtures.js';

const SPLITS = 500;
const SEED = 15_001;

async function scores(task: string, capture: string, targets: string[]): Promise<LabelledScores> {
  const cfg = validateConfig({ model: join(ZOO, task), backend: 'sim', trigger: { targets }, sinks: {} });
  return scoreLabelledData(cfg, readModelCard(join(ZOO, task)), (p) => p, join(REPO, 'hls', 'build'), { path: join(REPO, capture), split: 'val' });
}

const CASES: Array<{ task: string; capture: string; targets: string[]; requests: CalibrationRequest[] }> = [
  { task: 'cells-bccd', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'],
    requests: [{ kind: 'recall', cls: 'WBC', recall: 0.9 }, { kind: 'recall', cls: 'Platelets', recall: 0.9 }, { kind: 'falseRate', rate: 0.05 }, { kind: 'falseRate', rate: 0.01 }] },
  { task: 'cells-lymphocyte', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'],
    requests: [{ kind: 'recall', cls: 'B', recall: 0.9 }, { kind: 'recall', cls: 'T4', recall: 0.8 }, { kind: 'falseRate', rate: 0.05 }] },
];

describe('split-conformal guarantee on real held-out scores, 500 random splits', () => {
  for (const c of CASES) {
    for (const req of c.requests) {
      it(`${c.task}: ${describeRequest(req, c.targets).name}`, async () => {
        const s = await scores(c.task, c.capture, c.targets);
        checkGuarantee(expect, s, req, c.targets, SEED + c.requests.indexOf(req), SPLITS, createRng);
      }, 60_000);
    }
  }
});
