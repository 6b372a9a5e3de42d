import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { FIRMWARE_DIR } from '../backends/builtins.js';
import { calibrateDetections, DETECTION_CLAIM, formatDetectionReport } from '../calibration/calibrate-detections.js';
import { calibratePipeline, formatReport } from '../calibration/calibrate-pipeline.js';
import type { CalibrationRequest } from '../calibration/thresholds.js';
import { registerCommands, type CommandContext } from './commands.js';

/** `--recall CLASS=R`, R a recall strictly between 0 and 1. */
function recallOption(v: string, prev: CalibrationRequest[]): CalibrationRequest[] {
  const m = /^([^=]+)=([0-9.eE+-]+)$/.exec(v);
  const r = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(r > 0 && r < 1)) throw new InvalidArgumentError(`expected CLASS=RECALL with 0 < RECALL < 1, e.g. WBC=0.95; got "${v}"`);
  return [...prev, { kind: 'recall', cls: m[1]!, recall: r }];
}

/** `--false-rate A` (one threshold for the targets) or `--false-rate CLASS=A` (that class's own). */
function falseRateOption(v: string, prev: CalibrationRequest[]): CalibrationRequest[] {
  const m = /^(?:([^=]+)=)?([0-9.eE+-]+)$/.exec(v);
  const r = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !(r > 0 && r < 1)) throw new InvalidArgumentError(`expected RATE or CLASS=RATE with 0 < RATE < 1, e.g. 0.01 or yes=0.01; got "${v}"`);
  return [...prev, m[1] === undefined ? { kind: 'falseRate', rate: r } : { kind: 'falseRate', rate: r, cls: m[1] }];
}

function rateOption(v: string): number {
  const r = Number(v);
  if (!(r > 0 && r < 1)) throw new InvalidArgumentError(`expected a rate with 0 < RATE < 1, e.g. 0.01; got "${v}"`);
  return r;
}

function installCalibrate(program: Command, ctx: CommandContext): void {
  program
    .command('calibrate')
    .description("choose trigger thresholds that guarantee a recall per class or a false-trigger rate (split-conformal, finite-sample corrected) from labelled frames run through the pipeline's model; writes a new config and its calibration file (docs/calibration.md)")
    .requiredOption('-c, --config <file>', 'the pipeline config (read only)')
    .requiredOption('--data <path>', 'labelled calibration frames: a capture with labels (.arrows), a dataset export folder (<split>_x.npy, <split>_y.npy, meta.json: `hairtrigger dataset`, `hairtrigger lightcurves`), or for a keyword detector a Speech Commands folder (a sub-folder of clips a word)')
    .option('--split <name>', "the split of a dataset export, or of the keyword model's speakers (keep the test split for measuring)", 'val')
    .option('--recall <class=r>', 'keep the recall of CLASS at least r (e.g. WBC=0.95): its own threshold; repeatable, one per class', recallOption, [] as CalibrationRequest[])
    .option('--recall-targets <r>', 'keep the recall of the target classes together at least r (a frame of a target passes on its own class): one threshold for all targets, e.g. "catch 95% of the keywords" when each has too few clips for its own', rateOption)
    .option('--false-rate <[class=]a>', 'keep the rate of non-target frames that fire at most a (e.g. 0.01): one threshold for the targets; CLASS=a: the rate of frames of other classes on which CLASS fires, its own threshold (repeatable, one per class)', falseRateOption, [] as CalibrationRequest[])
    .option('--detection-recall <r>', "a keyword detector, per detection: the largest threshold whose detection recall (the right word detected within 1 s of its utterance, MLPerf Tiny streaming rules) on a stream of the split's clips is at least r, its false alarms per hour stated; measured, not guaranteed (docs/calibration.md); writes route.threshold only", rateOption)
    .option('--stream-seed <n>', '--detection-recall: the seed of the clips\' order in the streams', (v: string) => Number(v), 1)
    .option('--cascade-catch <r>', "calibrate the cascade's cut (the config's cascade.cut key, margin or entropy) so that at least r of the frames the student gets wrong go to the teacher; writes cascade.cut.<key>: calibrated", rateOption)
    .option('--cascade-send <q>', "calibrate the cascade's cut so that at most q of the frames go to the teacher (its load)", rateOption)
    .option('--holdout <split>', 'also measure each target on this split of the same data (e.g. test): the rate reached on frames the thresholds were not chosen from (reported, not written)')
    .option('--backend <b>', "run the calibration (and the new config) on this backend instead of the config's (sim, onnx, fpga)")
    .option('-o, --out <file>', 'the new config, beside --config (default <config>.calibrated.yaml); never overwritten')
    .option('--calibration-out <file>', 'the calibration file (default <out>.calibration.json); never overwritten')
    .option('--drift-window <frames>', 'the drift watch\'s window of live frames (config calibration.windowFrames; default 1000)', (v: string) => Number(v))
    .option('--drift-alpha <a>', 'the drift check\'s significance level (config calibration.driftAlpha; default 0.001)', rateOption)
    .option('--json', 'print the thresholds and guarantees as JSON', false)
    .action(async (o: { config: string; data: string; split: string; recall: CalibrationRequest[]; recallTargets?: number; detectionRecall?: number; streamSeed: number; holdout?: string; cascadeCatch?: number; cascadeSend?: number; falseRate: CalibrationRequest[]; backend?: string; out?: string; calibrationOut?: string; driftWindow?: number; driftAlpha?: number; json: boolean }) => {
      if (o.detectionRecall !== undefined) {
        if (o.recall.length > 0 || o.recallTargets !== undefined || o.falseRate.length > 0 || o.cascadeCatch !== undefined || o.cascadeSend !== undefined) throw new InvalidArgumentError('--detection-recall chooses the detector\'s one threshold on its detections: give it alone (no --recall, --recall-targets, --false-rate or cascade cut)');
        const out = o.out ?? o.config.replace(/\.ya?ml$/i, '') + '.calibrated.yaml';
        const r = await calibrateDetections({ config: o.config, data: { path: o.data, split: o.split }, recall: o.detectionRecall, streamSeed: o.streamSeed, holdoutSplit: o.holdout, backend: o.backend, out, firmwareDir: resolve(ctx.repoRoot, FIRMWARE_DIR), nowIso: new Date().toISOString() });
        process.stdout.write(o.json ? JSON.stringify({ ...r, claim: DETECTION_CLAIM }, null, 2) + '\n' : formatDetectionReport(r, process.cwd()));
        return;
      }
      const requests = [...o.recall, ...(o.recallTargets === undefined ? [] : [{ kind: 'recallTargets' as const, recall: o.recallTargets }]), ...o.falseRate];
      if (o.cascadeCatch !== undefined && o.cascadeSend !== undefined) throw new InvalidArgumentError('give --cascade-catch or --cascade-send, not both: one cut keeps one promise');
      const cascadeCut = o.cascadeCatch !== undefined ? { kind: 'catch' as const, rate: o.cascadeCatch } : o.cascadeSend !== undefined ? { kind: 'send' as const, rate: o.cascadeSend } : undefined;
      const out = o.out ?? o.config.replace(/\.ya?ml$/i, '') + '.calibrated.yaml';
      const r = await calibratePipeline({
        config: o.config, data: { path: o.data, split: o.split }, requests, out, calibrationOut: o.calibrationOut, backend: o.backend, holdoutSplit: o.holdout, cascadeCut,
        drift: { ...(o.driftWindow === undefined ? {} : { windowFrames: o.driftWindow }), ...(o.driftAlpha === undefined ? {} : { driftAlpha: o.driftAlpha }) },
        firmwareDir: resolve(ctx.repoRoot, FIRMWARE_DIR), nowIso: new Date().toISOString(),
      });
      if (o.json) process.stdout.write(JSON.stringify({ config: r.config, calibration: r.calibration, data: r.scores.source, byClass: r.result.byClass, targets: r.result.targets.map((t, j) => ({ ...t, inSample: r.inSample[j], ...(r.holdout === null ? {} : { heldOut: r.holdout.rates[j] }) })), ...(r.holdout === null ? {} : { heldOut: { data: r.holdout.source, byClass: r.holdout.byClass } }), ...(r.cut === null ? {} : { cascade: { ...r.cut.calibration, inSample: r.cut.inSample, ...(r.holdout === null ? {} : { heldOut: r.holdout.cut }) } }) }, null, 2) + '\n');
      else process.stdout.write(formatReport(r, process.cwd()));
    });
}

registerCommands(installCalibrate);
