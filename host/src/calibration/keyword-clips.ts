import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CalibrationError } from '../core/errors.js';
import type { ModelCard } from '../model/card.js';

/**
 * The labelled real clips of a Speech Commands folder (one sub-folder a word: the keyword
 * folders, `_unknown_`, `_silence_`) and the speaker split the keyword model was trained with.
 * A port of `models/train/keywords_data.py` (`real_clips`, `speaker_of`, `word_of`,
 * `split_of`): test/integration/keywords-calibration.test.ts checks it against that Python, clip
 * by clip, so calibration never reads a training speaker's clip or measures on a validation one.
 */

/** One real clip: its file, its class (an index into the model's labels) and its speaker. */
export interface KeywordClip {
  path: string;
  label: number;
  speaker: string;
}

/** `<speaker>_nohash_<n>.wav`; the `_unknown_` folder's carry their word in front (`<word>_<speaker>_nohash_<n>.wav.wav`). */
export function speakerOf(name: string): string {
  return basename(name).split('_nohash_')[0]!.split('_').at(-1)!;
}

/** The word an `_unknown_` clip says (its name's prefix). */
function wordOf(name: string): string {
  return basename(name).split('_')[0]!;
}

/**
 * The split of `key` (a speaker): a seeded sha256, so every clip of one speaker lands in one
 * split. `shares` in their order (train, val, test), as the card's `datasetDetail.shares`.
 */
export function splitOf(key: string, seed: number, shares: Readonly<Record<string, number>>): string {
  const hex = createHash('sha256').update(`${seed}:${key}`, 'utf8').digest('hex').slice(0, 12);
  const u = Number.parseInt(hex, 16) / 2 ** 48;
  let edge = 0;
  const names = Object.keys(shares);
  for (const name of names) {
    edge += shares[name]!;
    if (u < edge) return name;
  }
  return names.at(-1)!;
}

/** The card's split rule (`datasetDetail.seed` and `.shares`); a CalibrationError when it has none. */
export function cardSplit(card: ModelCard): { seed: number; shares: Record<string, number> } {
  const d = card.raw.datasetDetail as { seed?: unknown; shares?: unknown } | undefined;
  const shares = d?.shares;
  const ok = typeof d?.seed === 'number' && shares !== null && typeof shares === 'object' && Object.values(shares as object).every((v) => typeof v === 'number' && v > 0);
  if (!ok) throw new CalibrationError(`${card.dir}/card.json datasetDetail`, 'no seed and shares of the speaker split: calibration would not know which speakers the model trained on');
  return { seed: d!.seed as number, shares: shares as Record<string, number> };
}

/**
 * Every real clip under `root` whose word is a label of the model (a folder's name, `_unknown_`
 * -> unknown unless the clip's word is itself a label, `_silence_` -> silence), in folder and
 * file name order, and whose speaker falls in `split`. A CalibrationError names a folder that
 * holds none.
 */
export function speechCommandsClips(root: string, labels: readonly string[], split: { seed: number; shares: Record<string, number>; name: string }): KeywordClip[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CalibrationError(root, 'not a folder of Speech Commands clips (a sub-folder a word: yes/, no/, _unknown_/, _silence_/)');
  if (!(split.name in split.shares)) throw new CalibrationError(`--split ${split.name}`, `the model's speaker split has ${Object.keys(split.shares).join(', ')}`);
  const out: KeywordClip[] = [];
  for (const folder of readdirSync(root).sort()) {
    const dir = join(root, folder);
    if (!statSync(dir).isDirectory()) continue;
    const label = ({ _unknown_: 'unknown', _silence_: 'silence' } as Record<string, string>)[folder] ?? folder;
    if (!labels.includes(label)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.wav')) continue;
      const word = label === 'unknown' ? wordOf(f) : label;
      const speaker = speakerOf(f);
      if (splitOf(speaker, split.seed, split.shares) !== split.name) continue;
      out.push({ path: join(dir, f), label: labels.indexOf(labels.includes(word) ? word : label), speaker });
    }
  }
  if (out.length === 0) throw new CalibrationError(root, `holds no clip of a ${split.name} speaker whose word is a label of the model (${labels.join(', ')})`);
  return out;
}
