import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';

/**
 * Long audio streams without keywords, for false alarms per hour, made with `sox` (installed
 * by `make apt-models`): noise of three colours, music-like audio (plucked and sine chords in
 * seeded progressions and tempi), and the real `_background_noise_` recordings of Speech
 * Commands played back to back. Every stream is reproducible: sox runs with `-R` (its fixed
 * random numbers) and the music's notes come from `seed`.
 */

/** What a false-alarm stream is. */
export type StreamCategory = 'noise' | 'music' | 'background';

export interface KeywordFreeStream {
  name: string;
  category: StreamCategory;
  path: string;
  lengthS: number;
  /** How it was made (for the card). */
  recipe: string;
}

/** sox's arguments for 16 kHz mono 16-bit output; `-R`: repeatable random numbers. */
const OUT = ['-R', '-r', '16000', '-b', '16', '-c', '1'];

function sox(args: readonly string[]): void {
  try {
    execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer; message: string };
    const why = e.code === 'ENOENT' ? 'sox is not installed (make apt-models installs it)' : (e.stderr?.toString().trim() || e.message);
    throw new ConfigError('sox', `${args.slice(0, 3).join(' ')} ...: ${why}`, { cause: err });
  }
}

/** Noise of each colour, `minutes` long each, at a level a room's hiss or hum might have. */
function noiseStreams(dir: string, minutes: number): KeywordFreeStream[] {
  const colours = [['white', 0.1], ['pink', 0.25], ['brown', 0.5]] as const;
  return colours.map(([colour, vol]) => {
    const path = join(dir, `noise-${colour}.wav`);
    const lengthS = minutes * 60;
    sox(['-n', ...OUT, path, 'synth', String(lengthS), `${colour}noise`, 'vol', String(vol)]);
    return { name: `noise-${colour}`, category: 'noise', path, lengthS, recipe: `sox -R -n synth ${lengthS} ${colour}noise vol ${vol}` };
  });
}

/** Semitones of a major or minor triad over its root. */
const TRIADS = [[0, 4, 7], [0, 3, 7]] as const;

/** One beat: a chord (plucked, or sines with a tremolo) `beatS` long. */
function beat(path: string, rng: Rng): number {
  const bpm = 80 + Math.floor(rng.uniform() * 81);
  const beatS = Number((60 / bpm).toFixed(4));
  const root = 110 * 2 ** (Math.floor(rng.uniform() * 24) / 12); // A2 .. G#4
  const triad = TRIADS[Math.floor(rng.uniform() * TRIADS.length)]!;
  const pluck = rng.uniform() < 0.6;
  const tones = triad.flatMap((s) => [pluck ? 'pluck' : 'sine', (root * 2 ** (s / 12)).toFixed(2)]);
  sox(['-n', '-R', '-r', '16000', '-b', '16', '-c', '3', path, 'synth', String(beatS), ...tones, 'remix', '-', ...(pluck ? [] : ['tremolo', '6', '40']), 'fade', '0.01', String(beatS), '0.05', 'vol', '0.5']);
  return beatS;
}

/** Music-like audio: a palette of seeded chord beats, played in four-chord progressions
 * repeated four times, a new progression every 16 beats, until `minutes` are filled. */
function musicStream(dir: string, minutes: number, seed: number): KeywordFreeStream {
  const rng = createRng(seed);
  const parts = join(dir, 'music-beats');
  mkdirSync(parts, { recursive: true });
  const palette = Array.from({ length: 40 }, (_, i) => {
    const path = join(parts, `beat-${String(i).padStart(2, '0')}.wav`);
    return { path, lengthS: beat(path, rng) };
  });
  const order: string[] = [];
  let lengthS = 0;
  while (lengthS < minutes * 60) {
    const progression = Array.from({ length: 4 }, () => palette[Math.floor(rng.uniform() * palette.length)]!);
    for (let i = 0; i < 16; i++) {
      order.push(progression[i % 4]!.path);
      lengthS += progression[i % 4]!.lengthS;
    }
  }
  const path = join(dir, 'music.wav');
  sox([...order, ...OUT, path]);
  return { name: 'music', category: 'music', path, lengthS, recipe: `seed ${seed}: 40 sox chords (pluck or sine+tremolo, 80-160 bpm, triads A2-G#4), four-chord progressions x4` };
}

/** The real background-noise recordings of a Speech Commands folder, back to back in name order. */
function backgroundStream(dir: string, backgroundDir: string): KeywordFreeStream {
  const files = readdirSync(backgroundDir).filter((f) => f.toLowerCase().endsWith('.wav')).sort();
  if (files.length === 0) throw new ConfigError('--background', `${backgroundDir} holds no WAV files`);
  const path = join(dir, 'background.wav');
  sox([...files.map((f) => join(backgroundDir, f)), ...OUT, path]);
  const lengthS = Number(execFileSync('soxi', ['-D', path]).toString().trim());
  return { name: 'background', category: 'background', path, lengthS, recipe: `sox concatenation of ${files.join(', ')}` };
}

/**
 * Writes the false-alarm streams into `dir` (created) and describes them: three noise colours
 * of `minutes` each, `minutes * 3` of music, and the background recordings of `backgroundDir`.
 * A ConfigError when sox is missing or fails.
 */
export function makeKeywordFreeStreams(dir: string, opts: { minutes: number; seed: number; backgroundDir: string }): KeywordFreeStream[] {
  mkdirSync(dir, { recursive: true });
  return [...noiseStreams(dir, opts.minutes), musicStream(dir, opts.minutes * 3, opts.seed), backgroundStream(dir, opts.backgroundDir)];
}
