import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, isOperatingError } from '../core/errors.js';
import { validateConfig, loadConfigFile, type PipelineConfig } from '../config/schema.js';
import { exportTask, TASKS } from '../datasets/export.js';
import { heldOutSet } from '../datasets/test-set.js';
import { readModelCard, updateModelCard } from '../model/card.js';
import { cardFirmwareName } from '../daemon.js';
import { recordCapture } from './record.js';
import { GEN_KINDS, generateCapture, type GenKind } from './gen.js';
import { applyOverrides, REPO_ROOT, runDaemon, runDaemons, type ConfigOverrides, type Isolation } from './run-daemon.js';
import { checkPipelineSet, expandPipelineList } from '../config/pipeline-set.js';
import { commandInstallers } from './commands.js';
import './keywords.js';
import './calibrate.js';
import { inspectPaths } from './inspect.js';
import { createProgress } from './progress.js';
import type { PrecisionSpec } from '../../../hls/compiler/precision.js';

/** Whether a replay path holds survey alerts (an Avro file, or a folder of them). */
function isAlertPath(path: string): boolean {
  if (path.endsWith('.avro')) return true;
  return existsSync(path) && statSync(path).isDirectory() && !readdirSync(path).some((f) => f.endsWith('.arrows') || f.endsWith('.wav'));
}

/** Whether a replay path is audio: a WAV file, or a folder of them (played as one stream). */
function isWavPath(path: string): boolean {
  if (path.toLowerCase().endsWith('.wav')) return true;
  return existsSync(path) && statSync(path).isDirectory() && readdirSync(path).some((f) => f.toLowerCase().endsWith('.wav'));
}

/** `--pacing` for alerts: max, realtime, xN, rate:N or burst:N[/S]. */
function alertPacing(p: string): unknown {
  const rate = /^rate:([0-9.e+]+)$/.exec(p);
  if (rate) return { kind: 'rate', alertsPerS: Number(rate[1]) };
  const burst = /^burst:([0-9]+)(?:\/([0-9.]+))?$/.exec(p);
  if (burst) return { kind: 'burst', alerts: Number(burst[1]), ...(burst[2] ? { periodS: Number(burst[2]) } : {}) };
  return p;
}

/** `--extra-model name=dir[@backend]`. */
/** `replay --truth` and its companions as the config's `calibration.truth`; a companion without --truth is a ConfigError. */
function truthOption(o: Record<string, unknown>): Record<string, unknown> {
  return { file: resolve(String(o.truth)), ...(o.truthStream ? { stream: o.truthStream } : {}), ...(o.truthWord ? { word: o.truthWord } : {}), includeMissed: o.truthIncludeMissed === true };
}

function truthMissing(): never {
  throw new ConfigError('--truth-stream/--truth-word/--truth-include-missed', 'qualify --truth: give the truth file with --truth');
}

function extraModelOption(v: string): Record<string, string> {
  const m = /^([a-z][a-z0-9_]*)=([^@]+)(?:@([a-z]+))?$/.exec(v);
  if (m === null) throw new ConfigError('--extra-model', `value ${JSON.stringify(v)}: expected name=model-folder[@backend], e.g. realbogus=models/zoo/alerts-realbogus@sim`);
  return { name: m[1]!, model: m[2]!, ...(m[3] ? { backend: m[3] } : {}) };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** A YAML file given on the command line, parsed; a ConfigError names the option. */
function readYamlFile(path: string, option: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(option, `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Default location of the shared data sets, beside the repository. */
const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');

/**
 * The `hairtrigger` command line. Operating errors print their message and exit 2;
 * anything else is a bug and keeps its stack trace.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('hairtrigger')
    .description('real-time classification triggers: distilled students on a latency budget, replayed or live, with a dashboard')
    .showHelpAfterError()
    .version(packageVersion(), '-V, --version', 'print the version');

  program
    .command('run')
    .description('run the daemon from a pipeline config (YAML), serving the dashboard')
    .requiredOption('-c, --config <file>', "pipeline config (see host/configs/); relative paths in it resolve from the config's folder. Repeat it, or give a file that lists them (pipelines: [a.yaml, b.yaml]), to run several pipelines in one daemon, one dashboard (the server settings come from the first)", collect, [] as string[])
    .option('--port <n>', 'override server.port', int('port', 0))
    .option('--progress-ms <ms>', 'progress line interval on stderr (0 = none)', int('progress-ms', 0), 5000)
    .option('--decisions <file>', 'override decisions: one JSON line per frame to this new file (several daemons on one config each name their own; one --config only)')
    .option('--truth <file>', "override calibration.truth: score each keyword detection live against this stream's truth windows (MLPerf Tiny's format; the wav source's entry); one --config only")
    .addOption(new Option('--isolation <how>', 'several configs: each pipeline in a worker thread of its own, so one\'s load never delays another\'s hot path (worker, the default), or all on one event loop (none)').choices(['worker', 'none']))
    .action(async (o: { config: string[]; port?: number; progressMs: number; decisions?: string; truth?: string; isolation?: Isolation }) => {
      if (o.config.length === 0) throw new ConfigError('--config', 'give at least one pipeline config');
      const paths = o.config.flatMap(expandPipelineList);
      if (o.decisions !== undefined && paths.length > 1) throw new ConfigError('--decisions', `one file cannot take the decisions of ${paths.length} pipelines; set decisions: in each config instead`);
      // The command line's overrides, applied again to the file a SIGHUP re-reads.
      if (o.truth !== undefined && paths.length > 1) throw new ConfigError('--truth', `one stream's truth cannot score ${paths.length} pipelines; set calibration.truth in each config instead`);
      const overrides: ConfigOverrides = { ...(o.port === undefined ? {} : { port: o.port }), ...(o.decisions === undefined ? {} : { decisions: resolve(o.decisions) }), ...(o.truth === undefined ? {} : { truth: resolve(o.truth) }) };
      const files = paths.map((file) => ({ file, cfg: loadConfigFile(file) }));
      checkPipelineSet(files);
      const reload = (file: string) => ({ path: resolve(file), overrides });
      const pipelines = files.map(({ file, cfg }) => ({ cfg: applyOverrides(cfg, overrides), opts: { progressMs: o.progressMs, summary: false, baseDir: dirname(resolve(file)), reload: reload(file) } }));
      await runDaemons(pipelines, o.isolation ?? (pipelines.length > 1 ? 'worker' : 'none'));
    });

  program
    .command('replay')
    .description('replay a capture, survey alerts (Avro files or folders of them, in observation order) or audio (WAV files or folders of them, one stream) through a model and print the final metrics as JSON')
    .argument('<path>', 'capture file (.arrows), alert file (.avro) or folder of them, or WAV file or folder of them')
    .requiredOption('-m, --model <dir>', 'model folder (card.json + student.onnx)')
    .option('--variant <v>', 'student or teacher', 'student')
    .addOption(new Option('--backend <b>', 'sim: the compiled firmware on the bit-exact simulator (what `make run` uses); onnx: the float model; fpga: the firmware on --device').choices(['sim', 'onnx', 'fpga']).default('sim'))
    .option('--firmware <path>', 'sim/fpga: firmware project folder or library (default: hls/build/<task>_<variant>, built by `make firmware`)')
    .option('--device <path>', 'fpga: the register region, e.g. /dev/xdma0_user or an emulate-fpga /dev/shm file')
    .option('--pacing <p>', 'max, realtime or xN; alerts also rate:N (alerts/s) and burst:N[/S] (N alerts every S seconds, default 30: a Rubin visit)', 'max')
    .option('--loop', 'loop the capture', false)
    .option('--frames <n>', 'stop after n frames', int('frames', 1))
    .option('--targets <labels>', "comma-separated trigger classes, e.g. WBC (default: the model card's trigger targets)")
    .option('--threshold <p>', 'trigger probability threshold', num('threshold'), 0.5)
    .option('--holdoff-us <us>', 'trigger hold-off', num('holdoff-us'), 0)
    .option('--max-rate <per-s>', 'maximum trigger rate', num('max-rate'), 1e6)
    .option('--budget-us <us>', "latency budget (default: the model card's trigger.budgetUs, else 1000)", num('budget-us'))
    .option('--jsonl <file>', 'trigger log as JSON lines (base path: each run writes <stem>.<run>.<part>.jsonl beside it)')
    .option('--arrow <file>', 'trigger log as Arrow streams (base path, as --jsonl)')
    .option('--decisions <file>', 'one JSON line per frame (seq, id, class, score, probs, trigger) to this new file (refused if it exists)')
    .option('--extra-model <name=dir[@backend]>', 'a second model run on every frame (e.g. realbogus=models/zoo/alerts-realbogus@sim); repeatable', collect, [])
    .option('--route <file>', "a router config (YAML), e.g. an alert broker's filters and topics (see host/configs/)")
    .option('--calibration <file>', "a calibration file (hairtrigger calibrate): report each calibrated rate on the labelled frames and watch the scores for drift (its thresholds apply only through a config's trigger settings or --threshold)")
    .option('--truth <file>', "audio: the stream's truth windows (MLPerf Tiny's format, sww_short_test.json): score each detection live by its streaming wake-word rules (snapshot detectionScore, as score-keywords scores the log)")
    .option('--truth-stream <name>', "--truth: the truth file's entry (wav_file) of this stream (default: the WAV file's name)")
    .option('--truth-word <word>', '--truth: score this word only (a wake word); other words\' detections are left out')
    .option('--truth-include-missed', '--truth: count missed (late) detections too', false)
    .option('--serve', 'serve the dashboard while replaying', false)
    .option('--port <n>', 'dashboard port', int('port', 0), 8080)
    .action(async (capture: string, o: Record<string, unknown>) => {
      const alerts = isAlertPath(capture);
      const audio = isWavPath(capture);
      const cfg = validateConfig({
        pipeline: 'replay', model: o.model, variant: o.variant, backend: o.backend,
        // The card's budget (a keyword spotter's one hop) when none is given, else the config's default.
        budgetUs: o.budgetUs ?? readModelCard(resolve(String(o.model))).budgetUs ?? undefined,
        ...(o.firmware ? { firmware: o.firmware } : {}), ...(o.device ? { device: o.device } : {}),
        source: alerts
          ? { kind: 'alerts', paths: [capture], pacing: alertPacing(String(o.pacing)), loop: o.loop, ...(o.frames ? { frames: o.frames } : {}) }
          : audio
            ? { kind: 'wav', path: capture, pacing: o.pacing, loop: o.loop }
            : { kind: 'replay', path: capture, pacing: o.pacing, loop: o.loop, ...(o.frames ? { frames: o.frames } : {}) },
        ...(alerts ? { decoder: { kind: 'avro' } } : {}),
        extraModels: (o.extraModel as string[]).map(extraModelOption),
        ...(o.route ? { route: readYamlFile(String(o.route), '--route') } : {}),
        trigger: { ...(o.targets ? { targets: String(o.targets).split(',') } : {}), threshold: o.threshold, holdoffUs: o.holdoffUs, maxRatePerS: o.maxRate },
        sinks: { ...(o.jsonl ? { jsonl: o.jsonl } : {}), ...(o.arrow ? { arrow: o.arrow } : {}) },
        ...(o.decisions ? { decisions: o.decisions } : {}),
        ...(!o.truth && (o.truthStream || o.truthWord || o.truthIncludeMissed) ? truthMissing() : {}),
        ...(o.calibration || o.truth ? { calibration: { ...(o.calibration ? { file: resolve(String(o.calibration)) } : {}), ...(o.truth ? { truth: truthOption(o) } : {}) } } : {}),
        server: { enabled: o.serve, port: o.port },
      }, 'replay options');
      await runDaemon(cfg, { progressMs: 2000, summary: true, baseDir: process.cwd(), bar: o.pacing === 'max' });
    });

  program
    .command('record')
    .description('record a live source into a capture file (Arrow IPC stream); Ctrl-C closes it cleanly')
    .requiredOption('-o, --out <file>', 'capture to write (.arrows)')
    .addOption(new Option('--source <kind>', 'what to record').choices(['synthetic', 'replay']).default('synthetic'))
    .option('--input <capture>', 'for --source replay: the capture to re-record')
    .option('--seed <n>', 'for --source synthetic: generator seed', int('seed', 0), 1)
    .option('--rate-hz <r>', 'for --source synthetic: cells per second', num('rate-hz'), 2000)
    .option('--pacing <p>', 'max, realtime or xN', 'realtime')
    .option('--frames <n>', 'stop after n frames', int('frames', 1))
    .action(async (o: { out: string; source: 'synthetic' | 'replay'; input?: string; seed: number; rateHz: number; pacing: string; frames?: number }) => {
      await recordCapture(o);
    });

  program
    .command('inspect')
    .description('summarise a capture (stream, shape, dtype, frames, labels, duration, truncation), a WAV file (rate, channels, bits, format, frames, duration), every capture and WAV file in a folder, a model folder (its card), or astronomy alert files (Avro containers, Confluent-framed records; folders recursed, other files skipped and counted). Exit 0 when every file was read (record faults are listed), 1 when a capture does not read, 2 when a named path cannot be read or is of no known kind')
    .argument('<paths...>', 'capture (.arrows), WAV file (.wav), folder of captures and WAV files, model folder (card.json), alert file (.avro, .confluent) or folder of them')
    .option('--json', 'print the summary as JSON (alert files: one line per file and a summary line)', false)
    .option('--rubin-schemas <dir>', 'Rubin alert schemas, <major>/<minor>/*.avsc (ids major*100+minor)', join(SHARED_DATA, 'alerts', 'rubin-schemas'))
    .option('--ztf-schemas <dir>', 'ZTF alert schema folder (*.avsc, id 402)', join(SHARED_DATA, 'alerts', 'ztf-avro-alert', 'schema'))
    .action((paths: string[], o: { json: boolean; rubinSchemas: string; ztfSchemas: string }) => {
      const r = inspectPaths(paths, { rubin: o.rubinSchemas, ztf: o.ztfSchemas });
      process.stdout.write(o.json ? r.json : r.text);
      if (r.status !== 0) process.exitCode = r.status;
    });

  program
    .command('gen')
    .description('generate a synthetic capture: lymphocyte crops or jet feature vectors (seeded, as fast as possible)')
    .requiredOption('-o, --out <file>', 'capture to write (.arrows)')
    .requiredOption('--frames <n>', 'number of frames', int('frames', 1))
    .addOption(new Option('--kind <k>', 'what to generate').choices([...GEN_KINDS]).default('lymphocytes'))
    .option('--seed <n>', 'generator seed', int('seed', 0), 1)
    .option('--rate-hz <r>', 'mean arrival rate written as sensor time', num('rate-hz'), 2000)
    .action(async (o: { out: string; frames: number; seed: number; rateHz: number; kind: GenKind }) => {
      await generateCapture(o);
    });

  program
    .command('compile')
    .description('compile an ONNX model into an HLS firmware project and its simulator library; --check runs the C simulation against float ONNX')
    .argument('<model>', 'ONNX model, or a model folder (card.json: its student, or --variant)')
    .option('--variant <v>', 'with a model folder: student or teacher', 'student')
    .option('--out <dir>', 'project folder (default hls/build/<name>)')
    .option('--name <id>', 'C identifier of the top function (default: <task>_<variant> for a model folder, else hairtrigger_model)')
    .option('--precision <p>', 'default (ap_fixed<16,6>, accum <32,12>), auto (calibrated on inputs disjoint from the check\'s), or a type; when left out: the card\'s "precision" if it has one, else default')
    .addOption(new Option('--auto-rounding <q>', 'with --precision auto: quantisation of the calibrated input and result types (AP_RND removes floor\'s bias, which a deep network averaged by a pool accumulates)').choices(['AP_TRN', 'AP_RND']).default('AP_TRN'))
    .option('--auto-exact-accum-bits <n>', 'with --precision auto: accumulators of at most n bits holding every product exactly (32 lets the simulator use its paired int16 kernels)', int('auto-exact-accum-bits', 2))
    .option('--threshold <t>', 'one-output models: decision threshold of the check (default 0.5 after a sigmoid, else 0)', num('threshold'))
    .addOption(new Option('--strategy <s>', 'latency or resource').choices(['latency', 'resource']).default('latency'))
    .option('--reuse <r>', 'reuse factor', int('reuse', 1), 1)
    .option('--clock-mhz <f>', 'target clock', num('clock-mhz'), 200)
    .option('--latency-target-us <us>', "choose the io type and per-layer parallelism for this device latency (default: the card task's, e.g. cells-lymphocyte 7.25)", num('latency-target-us'))
    .option('--part <part>', 'FPGA part whose resources bound that choice (default the Alveo U50, xcu50-fsvh2104-2-e)')
    .option('--check <n>', 'compare n inputs: float ONNX vs C simulation', int('check', 0), 0)
    .option('--min-agreement <x>', 'exit 1 when agreement (top-1, or at the threshold for one output) is lower', num('min-agreement'), 0.99)
    .addOption(new Option('--data <d>', "check/calibration inputs: auto (the model's held-out set when card.json beside it names a known task or models/data/<task> holds its exported test_x.npy, else random) or random").choices(['auto', 'random']).default('auto'))
    .option('--bccd <dir>', 'BCCD dataset root (held-out data of cells-bccd)', resolve(SHARED_DATA, 'cells', 'bccd'))
    .option('--alerts <dir>', 'alert packets folder (held-out data of alerts-realbogus)', resolve(SHARED_DATA, 'alerts'))
    .option('--seed <n>', 'seed of random check and calibration inputs', int('seed', 0), 1)
    .option('--no-lib', 'do not build the simulator library')
    .option('--profile', 'print per-layer ranges against their types, with overflow counts', false)
    .option('--card', 'write "fixed" (needs --check) and "fpga" into the model card', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (arg: string, o: { variant: 'student' | 'teacher'; out?: string; name?: string; precision?: string; autoRounding: 'AP_TRN' | 'AP_RND'; autoExactAccumBits?: number; threshold?: number; strategy: 'latency' | 'resource'; reuse: number; clockMhz: number; latencyTargetUs?: number; part?: string; check: number; minAgreement: number; data: 'auto' | 'random'; bccd: string; alerts: string; seed: number; lib: boolean; profile: boolean; card: boolean; json: boolean }) => {
      const { CALIBRATION_INPUTS, compileModel, formatPlan } = await import('../../../hls/compiler/compile.js');
      const { formatProfile } = await import('../../../hls/compiler/profile.js');
      const { modelAccuracy } = await import('../../../hls/compiler/model-accuracy.js');
      // A model folder names its card and ONNX file; an ONNX file may sit beside a card.
      const folder = existsSync(join(resolve(arg), 'card.json'));
      const cardDir = folder ? resolve(arg) : dirname(resolve(arg));
      const hasCard = existsSync(join(cardDir, 'card.json'));
      const card = hasCard ? readModelCard(cardDir) : null;
      let model = arg;
      if (folder) {
        const file = card!.files[o.variant];
        if (file === null) throw new ConfigError('--variant', `${o.variant}: ${cardDir}/card.json has no ${o.variant}`);
        model = file;
      }
      const name = o.name ?? (folder ? cardFirmwareName(card!, o.variant) : 'hairtrigger_model');
      const out = resolve(o.out ?? resolve(REPO_ROOT, 'hls', 'build', name));
      let data = null;
      if (o.data === 'auto' && card !== null) {
        const npyDir = resolve(REPO_ROOT, 'models', 'data', card.task); // tasks exported as npy (alerts-transient)
        if ((TASKS as readonly string[]).includes(card.task) || existsSync(join(npyDir, 'test_x.npy'))) {
          // auto calibrates on the inputs after the check's (compileModel), so it takes more.
          const held = heldOutSet(card, Math.max(o.check, 256) + (o.precision === 'auto' ? CALIBRATION_INPUTS : 0), o.bccd, { alertsRoot: o.alerts, npyDir });
          data = { source: held.source, inputs: held.inputs };
        }
      }
      // A card may carry its model's precision (per-layer overrides where the default saturates).
      const precision = o.precision ?? (card?.raw.precision as PrecisionSpec | undefined) ?? 'default';
      const bar = createProgress({ label: `check ${name}`, total: o.check, unit: 'inputs' });
      if ((o.autoRounding !== 'AP_TRN' || o.autoExactAccumBits !== undefined) && precision !== 'auto') {
        throw new ConfigError('--auto-rounding/--auto-exact-accum-bits', 'apply only with --precision auto');
      }
      const calibration = { rounding: o.autoRounding, exactAccumBits: o.autoExactAccumBits };
      const r = await compileModel({ model, out, name, precision, calibration, threshold: o.threshold, strategy: o.strategy, reuse: o.reuse, clockMhz: o.clockMhz, latencyTargetUs: o.latencyTargetUs, task: card?.task, part: o.part, check: o.check, seed: o.seed, data, lib: o.lib, profile: o.profile, preprocessing: folder ? card!.preprocessing : undefined, onCheckProgress: (done) => bar.update(done) });
      bar.end();
      if (o.card) {
        if (!hasCard) throw new ConfigError('--card', `no model card: pass a model folder, or an ONNX file beside its card.json`);
        const accuracy = modelAccuracy();
        const fpga = { latencyCycles: r.fpga.latencyCycles, ii: r.fpga.ii, clockMhz: r.fpga.clockMhz, dsp: r.fpga.dsp, latencyUs: r.fpga.latencyUs, weightStorageBits: r.fpga.weightStorageBits, strategy: o.strategy, reuse: o.reuse,
          ...(r.fpga.io === undefined ? {} : { io: r.fpga.io, targetUs: r.fpga.targetUs, part: r.fpga.part, bram18k: r.fpga.bram18k, layers: r.fpga.layers }),
          ...(accuracy ? { modelAccuracy: accuracy.line } : {}) };
        const c = r.check;
        const agreement = c === null ? {} : c.agreementTop1 !== null ? { agreementTop1: c.agreementTop1 } : { agreementAtThreshold: c.agreement, threshold: c.threshold };
        const fixed = c === null ? {} : { fixed: { precision: r.precision, ...agreement, maxAbsLogitError: Number(c.maxAbsLogitError.toPrecision(4)), overflows: c.overflows, n: c.n, data: c.data, modelSha256: r.modelSha256 } };
        updateModelCard(cardDir, { ...fixed, fpga });
      }
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else {
        if (r.profile !== null) process.stdout.write(formatProfile(r.profile));
        process.stdout.write(`project ${r.dir}: ${r.nIn} -> ${r.nOut}${r.postprocess ? ' (host applies softmax)' : ''}${r.library ? `, library ${r.library}` : ''}; model: ${r.fpga.latencyCycles} cycles = ${r.fpga.latencyUs} us at ${r.fpga.clockMhz} MHz, II ${r.fpga.ii}, ${r.fpga.dsp} DSP${r.fpga.io === undefined ? '' : `; ${formatPlan(r.fpga)}`}${r.check ? `; check on ${r.check.n} inputs (${r.check.data}): ${r.check.decision === 'top1' ? 'top-1 agreement' : `agreement at threshold ${r.check.threshold}`} ${r.check.agreement}, max abs error ${r.check.maxAbsError.toExponential(2)}` : ''}\n`);
        const accuracy = modelAccuracy();
        if (accuracy) process.stdout.write(`${accuracy.line}\n`);
      }
      if (r.check !== null && r.check.agreement < o.minAgreement) process.exitCode = 1;
    });

  program
    .command('dataset')
    .description("crop/generate a task's frames and write training tensors (.npy), meta.json and a test capture")
    .requiredOption('--task <name>', `one of ${TASKS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--bccd <dir>', 'BCCD dataset root', resolve(SHARED_DATA, 'cells', 'bccd'))
    .option('--alerts <dir>', 'alert packets folder (alerts-realbogus)', resolve(SHARED_DATA, 'alerts'))
    .action(async (o: { task: string; out: string; bccd: string; alerts: string }) => {
      const t0 = Date.now();
      process.stderr.write(`dataset ${o.task}: building frames...\n`);
      const summary = await exportTask(o.task, o.out, o);
      process.stdout.write(JSON.stringify({ ...summary, seconds: (Date.now() - t0) / 1000 }, null, 2) + '\n');
    });

  // Commands other parts of the project add (sim/: emulate-fpga); see commands.ts.
  for (const install of commandInstallers()) install(program, { repoRoot: REPO_ROOT, num });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (isOperatingError(err)) {
      process.stderr.write(`hairtrigger: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

/** The version in package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function int(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

export function num(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}
