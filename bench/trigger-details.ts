/**
 * What keeping a firing frame for the detail view costs on the hot path (the emit stage's
 * `TriggerDetailRing.push`, after the trigger write), per frame, for each modality's size:
 *   node build/bench/trigger-details.js [--rounds N]      (after `make build`)
 * a cells crop (32x32x3 bytes, copied by a byte loop), a ZTF alert packet (72 KB: the largest
 * ZTF 4.02 record in ../shared/data/alerts) and a Rubin one (210 KB), and a keyword window's
 * 49 x 10 MFCC (TypedArray.set). Each figure is the median and fastest round's mean per push,
 * in microseconds. Prints one JSON line.
 */
import { limits } from '../host/src/core/limits.js';
import { FrameRing } from '../host/src/core/frame.js';
import type { FrameDetail } from '../host/src/codecs/frame-detail.js';
import { TriggerDetailRing } from '../host/src/pipeline/trigger-details.js';
import { timed, type Timing } from './timing.js';

const PUSHES = 2000;
const none = (): never => {
  throw new Error('not viewed here');
};

/** The cost of pushing a frame of `bytes` raw bytes (or `elements` inputs) into a full-size ring. */
function pushCost(rounds: number, keeps: 'raw' | 'input', size: number): Timing {
  const detail: FrameDetail = { keeps, sizeMax: keeps === 'raw' ? Math.max(size, 1) : size, view: none };
  const ring = new TriggerDetailRing(detail, limits.triggerDetailsMax);
  const slot = new FrameRing(keeps === 'input' ? size : 1, 2, 1).slots[0]!;
  // The frame lies inside a larger source buffer, as a replay's or an alerts file's does.
  slot.raw = new Uint8Array(size + 4096).map((_, i) => i & 0xff);
  slot.rawOffset = 1000;
  slot.rawLength = size;
  return timed(rounds, PUSHES, () => {
    for (let i = 0; i < PUSHES; i++) {
      slot.seq = i;
      ring.push(slot);
    }
  });
}

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 0) || 30;
const round = (t: Timing) => ({ medianUs: +t.median.toFixed(3), minUs: +t.min.toFixed(3) });
const out = {
  cellsCrop3072B: round(pushCost(rounds, 'raw', 32 * 32 * 3)),
  ztfPacket72KB: round(pushCost(rounds, 'raw', 72_028)),
  rubinPacket214KB: round(pushCost(rounds, 'raw', 213_662)),
  keywordMfcc490: round(pushCost(rounds, 'input', 490)),
};
process.stdout.write(JSON.stringify(out) + '\n');
