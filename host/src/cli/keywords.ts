import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { readModelCard, updateModelCard } from '../model/card.js';
import { formatScoreReport, scoreKeywordLogs, type ScoreReport } from '../modalities/audio/score.js';
import { registerCommands, type CommandContext } from './commands.js';
import { makeKeywordFreeStreams, type StreamCategory } from './keyword-streams.js';

/** The shared audio data beside the repository. */
const audioDir = (repoRoot: string) => resolve(repoRoot, '..', 'shared', 'data', 'audio');

/**
 * Replays `wav` through the real CLI (`hairtrigger replay`, max pace, the card's detector and
 * budget) into a fresh JSON-lines log under `logDir`; returns the log's files.
 */
export function replayToLog(repoRoot: string, wav: string, o: { model: string; backend: string; logDir: string; name: string }): string[] {
  mkdirSync(o.logDir, { recursive: true });
  for (const f of readdirSync(o.logDir)) if (f.startsWith(`${o.name}.`)) rmSync(join(o.logDir, f));
  execFileSync(process.execPath, [join(repoRoot, 'bin', 'hairtrigger.js'), 'replay', wav, '--model', o.model, '--backend', o.backend, '--pacing', 'max', '--jsonl', join(o.logDir, `${o.name}.jsonl`)], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  return readdirSync(o.logDir).filter((f) => f.startsWith(`${o.name}.`) && f.endsWith('.jsonl')).sort().map((f) => join(o.logDir, f));
}

function installScore(program: Command, ctx: CommandContext): void {
  program
    .command('score-keywords')
    .description("score a keyword stream's triggers (JSON lines of replay --jsonl) against ground-truth windows as MLPerf Tiny's streaming wake-word benchmark does: true positives, misses, false alarms (debounced 1 s), the delay from each utterance's end to its trigger, false alarms per hour")
    .argument('<triggers...>', 'JSON-lines trigger log files')
    .option('--truth <file>', "ground truth in MLPerf Tiny's format (sww_short_test.json: wav_file, length_sec, detection_windows [[start, end] or [start, end, word]] in s); without it every detection is a false alarm")
    .option('--wav <name>', 'the stream of the truth file to score (its wav_file), when it holds several')
    .option('--word <w>', "score this word only (a wake word: marvin); other words' triggers are left out and counted")
    .option('--length-s <s>', "the stream's length when there is no truth file (false alarms per hour)", ctx.num('length-s'))
    .option('--include-missed', "also score 'missed' records (detections on frames past their budget): the model's decisions whatever the machine's timing", false)
    .option('--json', 'print the score as JSON', false)
    .action((logs: string[], o: { truth?: string; wav?: string; word?: string; lengthS?: number; includeMissed: boolean; json: boolean }) => {
      const r = scoreKeywordLogs({ logs, ...o });
      process.stdout.write(o.json ? JSON.stringify(r) + '\n' : formatScoreReport(r));
    });
}

/** The card's `streaming` section: the wake-word stream's score and false alarms per hour. */
export interface StreamingCard {
  /** Streams of real speakers' clips (validation and test split), a window per keyword clip. */
  speakers: Record<'val' | 'test', { keywords: number; tp: number; misses: number; falseAlarms: number; lengthS: number }>;
  wakeword: { stream: string; word: string; tp: number; misses: number; falseAlarms: number; delayMs: number[]; otherWords: string[] };
  falseAlarmsPerHour: Record<StreamCategory, number>;
  falseAlarms: Record<StreamCategory, number>;
  /** Hours of keyword-free audio scored, in all and by category. */
  hoursScored: number;
  hours: Record<StreamCategory, number>;
  streams: { name: string; category: StreamCategory; lengthS: number; falseAlarms: number; recipe: string }[];
  detector: Record<string, unknown> | null;
  budgetUs: number | null;
  backend: string;
  scoring: string;
  reproduce: string;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Replays the wake-word stream and the keyword-free streams and scores them (see the command). */
export function scoreStreaming(repoRoot: string, o: { model: string; backend: string; out: string; minutes: number; seed: number }, log: (line: string) => void = () => {}): StreamingCard {
  const card = readModelCard(resolve(o.model));
  log(`keywords-streaming: ${card.dir} on ${o.backend}; the wake-word stream, then the validation and test speakers' streams`);
  const logDir = join(o.out, 'logs');
  const sww = join(audioDir(repoRoot), 'mlperf-tiny-wakeword');
  const wwLogs = replayToLog(repoRoot, join(sww, 'short_wav_easy10s.wav'), { ...o, logDir, name: 'wakeword' });
  const ww = scoreKeywordLogs({ logs: wwLogs, truth: join(sww, 'sww_short_test.json'), word: 'marvin', includeMissed: true });
  const heard = scoreKeywordLogs({ logs: wwLogs, includeMissed: true, lengthS: 10 });
  const speakers = Object.fromEntries((['val', 'test'] as const).map((split) => [split, speakerStream(repoRoot, split, { ...o, logDir })])) as StreamingCard['speakers'];
  log(`keywords-streaming: making ${o.minutes * 6} min of noise and music and the background recordings with sox in ${join(o.out, 'streams')}, replaying them`);
  const streams = makeKeywordFreeStreams(join(o.out, 'streams'), { minutes: o.minutes, seed: o.seed, backgroundDir: join(audioDir(repoRoot), 'speech-commands-wids-tutorial', '_background_noise_') });
  const scored = streams.map((s) => ({ s, r: scoreKeywordLogs({ logs: replayToLog(repoRoot, s.path, { ...o, logDir, name: s.name }), includeMissed: true, lengthS: s.lengthS }) }));
  const per = (f: (x: { s: (typeof streams)[number]; r: ScoreReport }) => number) => Object.fromEntries((['noise', 'music', 'background'] as const).map((c) => [c, scored.filter((x) => x.s.category === c).reduce((a, x) => a + f(x), 0)])) as Record<StreamCategory, number>;
  const falseAlarms = per((x) => x.r.falseAlarms);
  const hours = per((x) => x.s.lengthS / 3600);
  return {
    speakers,
    wakeword: { stream: ww.stream!, word: 'marvin', tp: ww.truePositives, misses: ww.misses, falseAlarms: ww.falseAlarms, delayMs: ww.delayMs.map((d) => Math.round(d)), otherWords: heard.words.filter((w) => w !== 'marvin') },
    falseAlarmsPerHour: Object.fromEntries(Object.entries(falseAlarms).map(([c, n]) => [c, round(n / hours[c as StreamCategory], 2)])) as Record<StreamCategory, number>,
    falseAlarms,
    hoursScored: round(hours.noise + hours.music + hours.background, 4),
    hours: Object.fromEntries(Object.entries(hours).map(([c, h]) => [c, round(h, 4)])) as Record<StreamCategory, number>,
    streams: scored.map(({ s, r }) => ({ name: s.name, category: s.category, lengthS: round(s.lengthS, 3), falseAlarms: r.falseAlarms, recipe: s.recipe })),
    detector: card.detector,
    budgetUs: card.budgetUs,
    backend: o.backend,
    scoring: "MLPerf Tiny's streaming wake-word rules (benchmark/runner/streaming_ww_utils.py calc_detection_stats): a detection in [start, end + 1 s] of an utterance is a true positive, others are false alarms debounced 1 s; 'missed' records (past the budget) count as detections: the model's decisions, whatever the machine's timing. Keyword-free streams: any keyword is a false alarm",
    reproduce: 'make keywords-card',
  };
}

/**
 * Scores a stream of one split's real clips (each a second, centred, then a second of silence,
 * in a seeded order; built by models/train/keywords_detector.py from keywords_data.py's
 * speaker split) with a window per keyword clip and its word.
 */
function speakerStream(repoRoot: string, split: 'val' | 'test', o: { model: string; backend: string; out: string; logDir: string }): StreamingCard['speakers']['val'] {
  const made = execFileSync(process.env.PYTHON ?? '/usr/bin/python3', [join(repoRoot, 'models', 'train', 'keywords_detector.py'), '--shared', audioDir(repoRoot), '--out', join(o.out, 'speakers'), '--stream', split], { encoding: 'utf8' });
  const { wav, truth } = JSON.parse(made) as { wav: string; truth: string };
  const r = scoreKeywordLogs({ logs: replayToLog(repoRoot, wav, { ...o, name: `speakers-${split}` }), truth, includeMissed: true });
  return { keywords: r.windows.length, tp: r.truePositives, misses: r.misses, falseAlarms: r.falseAlarms, lengthS: r.lengthS! };
}

function installStreaming(program: Command, ctx: CommandContext): void {
  program
    .command('keywords-streaming')
    .description("score a keyword model's streaming detection (its card's detector) on MLPerf Tiny's wake-word stream and on long keyword-free streams made with sox (noise, music, the real background recordings): false alarms per hour; --card writes card.streaming")
    .option('-m, --model <dir>', 'model folder', 'models/zoo/keywords')
    .addOption(new Option('--backend <b>', 'backend of the replays').choices(['sim', 'onnx']).default('sim'))
    .option('--out <dir>', 'streams and trigger logs', join(ctx.repoRoot, 'build', 'keywords-streaming'))
    .option('--minutes <m>', 'minutes of each noise colour (music: three times as long)', ctx.num('minutes'), 10)
    .option('--seed <n>', "the music's seed", ctx.num('seed'), 1)
    .option('--card', "merge the result into the card's streaming section", false)
    .action((o: { model: string; backend: string; out: string; minutes: number; seed: number; card: boolean }) => {
      const streaming = scoreStreaming(ctx.repoRoot, o, (line) => process.stderr.write(`${line}\n`));
      if (o.card) updateModelCard(resolve(o.model), { streaming });
      process.stdout.write(JSON.stringify(streaming, null, 2) + '\n');
    });
}

registerCommands((program, ctx) => {
  installScore(program, ctx);
  installStreaming(program, ctx);
});
