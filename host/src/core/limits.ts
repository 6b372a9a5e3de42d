import { assert } from './assert.js';

/**
 * Every bound in the daemon, with its unit last. What happens at each bound is a named
 * policy and a counter in the metrics. `checkLimits` relates them at start-up.
 */
export const limits = {
  /** Preallocated frame slots in the ring between source and pipeline. */
  frameSlotsMax: 1024,
  /** Largest raw frame the decoder accepts (a 512x512x4 uint8 image). */
  frameBytesMax: 512 * 512 * 4,
  /** Largest model input tensor, in elements. */
  modelInputElementsMax: 512 * 512 * 3,
  /** Named input tensors one model may take (a cutout triplet plus a feature vector is two). */
  modelInputsMax: 8,
  /** Bytes of per-modality payload a trigger carries downstream (an alert's objectId, a
   * keyword's stream time); the decoder writes at most this much into the slot. */
  triggerPayloadBytesMax: 64,
  /** Model frames one input frame may make (audio windows completed by one PCM chunk); each
   * takes a slot of the frame ring while its input is processed. */
  framesPerInputMax: 256,
  /** Audio front ends (MFCC / log-mel tables and scratch) a process keeps to share between
   * the streams whose specs are equal; a spec past the bound gets a front end of its own. */
  frontEndsSharedMax: 16,
  /** Extra models one pipeline may run on each frame beside its primary model (an alert's
   * real/bogus student beside its transient classifier). */
  extraModelsMax: 4,
  /** Frames the cascade may have out with its teacher at once (queued, running, or answered
   * and not yet joined with their trigger record): each has a preallocated input slot. At the
   * bound an unsure frame is not sent (policy: drop-newest, counted as `dropped`). */
  cascadeQueueFramesMax: 1024,
  /** Shared bytes the cascade's input slots may take in all (queueFrames x the model's input
   * elements x 4): a queue of large inputs is refused at start, not allocated. */
  cascadeQueueBytesMax: 256 * 1024 * 1024,
  /** Longest a stopping daemon waits for the teacher to answer the frames still out with it
   * (a finite replay's last answers); what is not answered by then is left unanswered. */
  cascadeDrainWaitMsMax: 10_000,
  /** Bytes of per-frame decision lines (`--decisions`) held before they are written; a flush
   * writes them out, so the file never lags more than one flush interval. */
  decisionBufferedBytesMax: 4 * 1024 * 1024,
  /** Frames a streaming detector may average a posterior over (a keyword spotter: a few hops). */
  detectorSmoothFramesMax: 64,
  /** Most live top scores the drift watch keeps (its sliding window; config
   * `calibration.windowFrames`), preallocated at start. */
  calibrationWindowFramesMax: 100_000,
  /** Most truth windows a labelled keyword replay is scored against (config `calibration.truth`;
   * per-window state preallocated at start): a day of speech at one word every 2 s. */
  truthWindowsMax: 50_000,
  /** Largest number of classes a classifier may output. */
  classesMax: 1024,
  /** Trigger records held between the hot path and the log/websocket flushers; on overflow
   * the oldest unflushed record is overwritten and `triggerRingOverflows` counts it. */
  triggerRingSlotsMax: 65_536,
  /** Bytes one trigger log file (JSON lines or Arrow) grows to before the next part is
   * started; about 1.5 GB a day at the default rate, so a part holds a few hours. A file passes
   * this only when a single record (JSON lines) or a single flush's batch (Arrow) is larger. */
  triggerLogFileBytesMax: 256 * 1024 * 1024,
  /** Bytes a file sink holds queued for the disk before it reports not ready; the trigger log
   * then stops draining the ring (policy: block), so the ring's drop-oldest counts any loss. */
  sinkBufferedBytesMax: 16 * 1024 * 1024,
  /** How often the trigger log flushes to disk. */
  flushIntervalMs: 100,
  /** Late frames are summarised in the log at most this often. */
  lateLogIntervalMs: 1000,
  /** How often the daemon publishes a snapshot (what HTTP, /metrics and the websocket serve)
   * and pushes it to websocket clients. */
  snapshotIntervalMs: 250,
  /** A snapshot build runs its steps (one histogram folded or summarised each) for up to this
   * long per macrotask before yielding to the event loop (metrics/snapshot-cache.ts). */
  snapshotStepBudgetUs: 100,
  /** With no reader of the published snapshot (no websocket client, HTTP request, scrape or
   * worker poll) for this long, the daemon builds one only every `snapshotIdleIntervalMs`:
   * a snapshot nobody reads still closes the history's rows, but a daemon per microphone paid
   * ~48% of its core for builds at 4 Hz that no one read (bench/keywords.ts, 100 streams). */
  snapshotIdleAfterMs: 2000,
  /** The build interval while no one reads: just over the history's interval, so each build
   * closes one history row (a row is `historyResolutionS` plus up to one snapshot interval). */
  snapshotIdleIntervalMs: 1005,
  /** `/healthz` samples the pipeline's frame counters this often (last frame age, error ratio). */
  healthSampleIntervalMs: 500,
  /** `/healthz` judges the error ratio over this many recent seconds. */
  healthWindowS: 10,
  /** The history's interval (`/api/history`): one row per this many seconds. */
  historyResolutionS: 1,
  /** Rows the history keeps (3600 at 1 s: the last hour); older rows are overwritten. */
  historyRows: 3600,
  /** Control changes the audit log keeps in memory (`/api/controls`); every one is also logged. */
  auditEntriesMax: 200,
  /** Refused control requests (missing or wrong token) are logged at most this often; all are counted. */
  authLogIntervalMs: 1000,
  /** Models a pipeline loads to switch between (config `models`, `POST /api/control/model`). */
  modelsMax: 8,
  /** Pipelines one list of pipelines may name (`pipelines:` in a `--config` file, config/pipeline-set.ts). */
  pipelinesMax: 16,
  /** Model switches the selector keeps for the snapshot and the dashboard's markers (config
   * `modelSelection`); older ones are counted, not kept. */
  modelSwitchesKeptMax: 50,
  /** Recent triggers whose frame is kept for the detail view (`/api/triggers/:run/:seq`). */
  triggerDetailsMax: 64,
  /** Bytes of one variable-length frame the detail ring keeps (an alert packet with its
   * cutouts and history: ZTF's are up to ~72 KB, Rubin's ~210 KB); a larger frame's detail
   * says it was not kept. Fixed-size frames are kept at their size. */
  triggerDetailFrameBytesMax: 256 * 1024,
  /** Websocket clients served at once; further connections are closed with 1013 (try again later). */
  wsClientsMax: 64,
  /** Bytes buffered for one slow websocket client before its messages are dropped. */
  wsClientBufferedBytesMax: 4 * 1024 * 1024,
  /** A websocket client over `wsClientBufferedBytesMax` for this long is disconnected. */
  wsSlowClientDropAfterMs: 2000,
  /** Largest HTTP request body accepted by control endpoints. */
  httpBodyBytesMax: 64 * 1024,
  /** Time a client has to send a whole request; slower ones are cut off (slowloris). */
  httpRequestTimeoutMs: 10_000,
  /** Highest latency the HDR histograms record; larger values are clamped and counted. */
  histogramMaxUs: 10_000_000,
  /** A paced replay stops sleeping on a timer this long before a frame is due and turns the
   * event loop until it is (Node timers fire a millisecond or more late). At 2,000 frames/s
   * this keeps the main thread busy: a paced replay simulates a sensor and owns a core. */
  pacerSpinWindowUs: 2000,
  /** Frames an asynchronous source's ingress queue holds between its I/O callbacks and the
   * hot path; at the bound the source's policy (block, drop-newest, drop-oldest) decides. */
  ingressFramesMax: 4096,
  /** Bytes of frame data an ingress queue holds (its preallocated arena). */
  ingressArenaBytesMax: 16 * 1024 * 1024,
  /** Largest alert message (a Confluent wire-format record, length-prefixed in a file or
   * stream); a longer length prefix means the stream is not what it claims: reading stops. */
  alertMessageBytesMax: 8 * 1024 * 1024,
  /** Bytes of alert files an `alerts` replay holds in memory (every file, read whole). */
  alertReplayBytesMax: 2 * 1024 * 1024 * 1024,
  /** NATS source: unacknowledged messages a durable consumer lets out at once (its
   * `max_ack_pending`, shared by every daemon on the consumer); the config may ask for fewer. */
  natsAckPendingMax: 65_536,
  /** NATS source: how often the consumer's lag (pending, ack pending, redelivered) is read. */
  natsLagPollMs: 1000,
  /** NATS sink: trigger publishes awaiting JetStream's ack at once. */
  natsPublishInFlightMax: 1024,
  /** NATS sink: trigger records queued for publishing; past it the sink is not ready (block). */
  natsSinkQueueEventsMax: 65_536,
  /** NATS sink: longest wait between retries of a publish that failed (doubling from 10 ms). */
  natsRetryDelayMaxMs: 2000,
  /** NATS source and sink: how long closing waits for acks and publishes before giving up. */
  natsCloseWaitMs: 10_000,
  /** Longest reconnect back-off of a serial line (its config may ask for less). */
  serialReconnectMaxMs: 60_000,
  /** Period of a serial line's watchdog (restarts a stopped reconnect loop, reopens a silent line). */
  serialWatchdogMs: 250,
  /** An open of a serial device that has not completed after this long is given up and retried. */
  serialOpenTimeoutMs: 5_000,
  /** Bytes a serial line holds for the device before it refuses a write (never waits on drain). */
  serialWriteQueueBytesMax: 1024 * 1024,
  /** Trigger commands a serial sink holds unacknowledged before it stops taking more (policy block). */
  serialPendingTriggersMax: 4096,
  /** Websocket ingest clients connected at once, at most (a config may allow fewer). */
  wsIngestClientsMax: 1024,
  /** Websocket ingest clients whose counters the snapshot keeps (live and the most recently closed). */
  wsIngestClientsTrackedMax: 64,
  /** Largest payload of one link packet (serial or websocket): a cells crop, an alert with cutouts. */
  linkPayloadBytesMax: 1024 * 1024,
  /** Frames replayed per macrotask before yielding to the event loop at `max` pacing. */
  replayBatchFramesMax: 256,
  /** A replay's macrotask also yields once its frames have taken this long (a slow backend,
   * or a paced stream behind schedule): timers, snapshot steps and HTTP keep their turns. */
  replayBatchMsMax: 2,
  /** At max pace a batch that took longer than this halves the next (sources/pacer.ts
   * `adaptMaxBatch`); one that took under half of it doubles it, up to replayBatchFramesMax. */
  replayMaxPaceBatchMsMax: 10,
  /** Largest WAV file the `wav` source and `inspect` read into memory (about 35 min of
   * 16-bit stereo at 48 kHz). */
  wavFileBytesMax: 512 * 1024 * 1024,
  /** Channels a WAV file may declare (WAVE_FORMAT_EXTENSIBLE allows 65,535; more is a lying header). */
  wavChannelsMax: 64,
  /** Samples of one PCM chunk a `wav` or `pcm` source hands the pipeline (the default is 160, 10 ms at 16 kHz). */
  pcmChunkSamplesMax: 16_384,
  /** Largest capture file a replay loads into memory. */
  captureBytesMax: 2 * 1024 * 1024 * 1024,
  /** Writer schemas an Avro alert decoder keeps compiled (one per distinct container header or
   * registry id); on overflow the least recently added one is dropped and recompiled when seen. */
  alertSchemasMax: 256,
  /** Bytes of one Avro container block after decompression (a ZTF or Rubin alert is under
   * 1 MB); a block that claims more is corrupt and skipped, so no input allocates beyond it. */
  alertBlockBytesMax: 64 * 1024 * 1024,
  /** Error records kept for /api/errors. */
  errorLogEntriesMax: 256,
  /** Log lines of one kind (same error code and place) written per `logWindowMs`; further
   * ones in that window are counted and summarised in one line when it ends. */
  logLinesPerWindowMax: 5,
  /** The window of `logLinesPerWindowMax`. */
  logWindowMs: 1000,
  /** Spins (a pause and a DONE_COUNT read, ~10-150 cycles each) the fpga driver waits for one
   * job before it fails the frame with a timeout (DeviceError, reason `timeout`). */
  pollSpinsMax: 1 << 20,
  /** After a job times out the fpga device is faulted (frames fail at once, never spin) and
   * re-probed off the hot path: first after this long, then each wait doubled up to the max. */
  fpgaReprobeDelayMinMs: 10,
  fpgaReprobeDelayMaxMs: 250,
  /** FPGA event records drained per poll in autonomous mode (each becomes one frame slot);
   * a full drain polls again at once instead of waiting for the timer. */
  fpgaEventsPerPollMax: 256,
  /** Longest the onnx backend's predict waits for its worker to run one inference before it
   * fails the frame with a ModelError (a stuck worker); far above any real inference, so a
   * loaded machine never trips it. */
  /** Polls of the shared control word (a few ns each) before the onnx backend and its worker
   * block in Atomics.wait: a futex wake costs tens of microseconds on a VM, more than a small
   * model's inference. Bounded, so a waiting thread never spins for long beside another. */
  onnxWaitPollsMax: 20_000,
  onnxInferenceWaitMsMax: 10_000,
  /** Filters one config may route alerts with (each is evaluated on every alert). */
  filtersMax: 256,
  /** Characters of one filter expression. */
  filterExpressionCharsMax: 4096,
  /** Uncompressed bytes of records a topic's Avro container block gathers before it is
   * compressed and written (one larger alert makes a block alone). A ZTF alert is about 50 kB:
   * Avro's customary 64 KiB would make a block (and a zlib stream) of every alert. */
  topicBlockBytesMax: 1024 * 1024,
  /** Bytes a topic writer holds (gathered, compressing, queued for the disk) before further
   * alerts for it are dropped (policy: drop-newest, counted per topic). */
  topicBufferedBytesMax: 64 * 1024 * 1024,
  /** Largest side (NAXIS1, NAXIS2) of a FITS cutout stamp; ZTF's are 63, Rubin's 30 to a
   * few hundred. A larger stamp is a FitsError, and the cutout scratch buffers are this big. */
  fitsStampSidePixelsMax: 512,
  /** Header bytes a FITS stamp may have before its END card (36 blocks of 2880, 1296 cards;
   * Rubin's WCS headers use 2 blocks). */
  fitsHeaderBytesMax: 36 * 2880,
  /** Bytes one stamp may inflate to (header + the largest BITPIX 64 image); a gzip stamp that
   * inflates to more is a FitsError. */
  fitsStampBytesMax: 36 * 2880 + 512 * 512 * 8,
  /** A pipeline in a worker thread (several pipelines in one daemon, cli/worker-run.ts): how
   * long the main thread waits for its answer to a request (history, controls, config,
   * /metrics, health) before the request fails with 503 (health and /metrics instead show that
   * pipeline down). Its event loop turns between frames, so only a stuck one takes this long. */
  workerRequestTimeoutMs: 2000,
  /** Requests awaiting a worker's answer at once (per pipeline); past it a request fails at
   * once with 503 (drop-newest) instead of queueing behind a worker that is not answering. */
  workerRequestsInFlightMax: 256,
  /** How long the main thread waits for a worker to close (release its locks, end its thread)
   * at exit before terminating it. */
  workerCloseWaitMs: 10_000,
} as const;

export type Limits = typeof limits;

/** Checks the relations between limits; a failure is a programmer error. */
export function checkLimits(l: Limits = limits): void {
  assert(l.replayBatchFramesMax <= l.frameSlotsMax, 'a replay batch must fit in the frame ring');
  assert(l.flushIntervalMs <= l.snapshotIntervalMs * 10, 'flush interval too long for snapshots');
  assert(l.snapshotIdleIntervalMs >= l.historyResolutionS * 1000 && l.snapshotIdleIntervalMs <= l.historyResolutionS * 1000 + l.snapshotIntervalMs, 'an idle build closes one history row of its documented length');
  assert(l.snapshotIdleAfterMs >= 2 * l.snapshotIntervalMs, 'a reader at the snapshot interval keeps the builds at that interval');
  assert(l.flushIntervalMs <= l.lateLogIntervalMs, 'late frames are logged from the flush loop, so it must run at least that often');
  assert(l.triggerRingSlotsMax >= l.frameSlotsMax, 'trigger ring must hold a full frame ring');
  assert(l.triggerRingSlotsMax >= l.ingressFramesMax, 'a clean stop flushes a full ingress queue into the trigger ring at once');
  assert(l.fpgaEventsPerPollMax <= l.frameSlotsMax, 'one drain of FPGA events must fit in the frame ring');
  assert(l.ingressArenaBytesMax >= l.frameBytesMax, 'an ingress arena holds the largest frame');
  assert(l.pcmChunkSamplesMax * 2 <= l.frameBytesMax, 'the largest int16 PCM chunk fits a frame');
  assert(l.ingressArenaBytesMax >= l.alertMessageBytesMax, 'an ingress arena holds the largest alert message');
  assert(l.fitsStampBytesMax >= l.fitsHeaderBytesMax + l.fitsStampSidePixelsMax ** 2 * 8, 'an inflated stamp holds the largest header and image');
  assert(l.healthWindowS * 1000 >= 2 * l.healthSampleIntervalMs, 'the health window spans at least two samples');
  assert(l.cascadeQueueFramesMax <= l.frameSlotsMax, 'the cascade holds a trigger per queue slot in a frame ring of that size');
  assert(l.cascadeQueueFramesMax <= l.triggerRingSlotsMax, 'every trigger the cascade holds (replace) fits the trigger ring when released at once');
  assert(l.fpgaReprobeDelayMinMs > 0 && l.fpgaReprobeDelayMinMs <= l.fpgaReprobeDelayMaxMs, 'fpga re-probe back-off: 0 < min <= max');
  assert(l.workerRequestTimeoutMs < l.httpRequestTimeoutMs, 'a request to a pipeline worker times out before the HTTP request does');
}
