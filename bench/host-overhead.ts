import { STAMP, STAMP_INGEST, type FrameSlot } from '../host/src/core/frame.js';
import type { Daemon } from '../host/src/daemon.js';
import { isFpgaBackend, type FpgaBackend } from '../host/src/backends/fpga.js';
import { EMULATOR_TIMELINE_FIELDS, FPGA_TIMELINE_FIELDS, monotonicOriginNs, type NativeEmulator } from '../host/src/native/addon.js';

/**
 * The host's part of an fpga job, measured exactly (issue 14): the driver stamps, per job, the
 * doorbell (just before CTRL's ap_start) and the moment it saw DONE_COUNT move; the emulator
 * stamps, per job, when it saw the start and when it raised ap_done (its diagnostic timeline,
 * a side channel no driver reads); the pipeline's own stamps give the frame's due time and its
 * trigger write. All on CLOCK_MONOTONIC (the native clock counts from `monotonicOriginNs`).
 * Per frame:
 *
 *   e2e = before + doorbell lag + device busy + done lag + after
 *
 * `device busy` is the interval the device saw (start seen to ap_done: the modelled hold, or
 * longer where the emulator's CPU ran the kernel past it); `host` = e2e - device busy, what the
 * issue's goal bounds. The lags are the bus: the cache line's trip between the two cores here
 * (on a card, PCIe reads and writes), and the emulator's poll of CTRL.
 */
export interface HostOverheadUs {
  /** Frames (or calls) measured; the figures are p50 / p99 over them, microseconds. */
  readonly frames: number;
  readonly e2e: Pct;
  /** e2e minus the device's busy interval as the device saw it. */
  readonly host: Pct;
  /** Of it, the host's own work: before doorbell + after done, frame by frame (host minus the
   * two lags, which on this VM follow the scheduling of the emulator's thread more than the host). */
  readonly hostWork: Pct;
  /** Due (or call start) to the doorbell: ingest, decode, preprocess or pack, the window write. */
  readonly beforeDoorbell: Pct;
  /** Of it: from the infer stage's start (the call into the driver) to the doorbell: the
   * N-API call, the window write (absent for calls, where it is all of beforeDoorbell). */
  readonly callToDoorbell: Pct | null;
  readonly doorbellLag: Pct;
  readonly deviceBusy: Pct;
  /** The kernel's run on the emulator's CPU (start seen to its end), against the modelled hold. */
  readonly kernelCpu: Pct;
  readonly doneLag: Pct;
  /** DONE_COUNT seen to the trigger write (or the call's return): read, convert, policy, emit. */
  readonly afterDone: Pct;
  /** Of it: DONE_COUNT seen to the infer stage's end (the outputs read and returned to JS). */
  readonly doneToInferEnd: Pct | null;
  /** Jobs whose device busy exceeded the modelled hold by more than 100 ns (the emulator's CPU
   * was slower than the device it models), as a share. */
  readonly overrunShare: number;
}

export interface Pct {
  readonly p50: number;
  readonly p99: number;
}

/** Device jobs beyond the frames that the pairing tolerates (jobs the driver timed out on). */
export const SPARE_JOBS = 1024;

/** Per-frame stamps the tap keeps: due, ingest, preprocess end, infer end, emit end (native clock). */
const FRAME_FIELDS = 5;

/**
 * Records one replay's frames and jobs. `attach` binds the driver's timeline and the metrics'
 * frame tap (both allocation-free on the hot path), `measure` reads the emulator's timeline and
 * matches job to frame by order (checked by the jobs' seq as driver and device saw it).
 */
export class HostOverheadProbe {
  private readonly frames: Float64Array;
  private readonly jobs: Float64Array;
  private readonly device: Float64Array;
  private n = 0;
  private driverJobs0 = 0;
  private deviceJobs0 = 0;
  private backend: FpgaBackend | null = null;

  constructor(private readonly capacity: number, private readonly emulator: NativeEmulator) {
    this.frames = new Float64Array(capacity * FRAME_FIELDS);
    this.jobs = new Float64Array(capacity * FPGA_TIMELINE_FIELDS);
    this.device = new Float64Array((capacity + SPARE_JOBS) * EMULATOR_TIMELINE_FIELDS);
  }

  attach(d: Daemon): void {
    const b = d.backend;
    if (!isFpgaBackend(b)) throw new Error('host-overhead probe: the daemon does not run on the fpga backend');
    this.backend = b;
    this.n = 0;
    this.driverJobs0 = b.deviceStats().jobs;
    this.deviceJobs0 = this.emulator.stats().jobs;
    b.bindTimeline(this.jobs);
    const f = this.frames;
    const cap = this.capacity;
    d.metrics.frameTap = (slot: FrameSlot) => {
      if (this.n >= cap) return;
      const o = this.n++ * FRAME_FIELDS;
      const st = slot.stampsNs;
      f[o] = slot.dueNs;
      f[o + 1] = st[STAMP_INGEST]!;
      f[o + 2] = st[STAMP.preprocess]!;
      f[o + 3] = st[STAMP.infer]!;
      f[o + 4] = st[STAMP.emit]!;
    };
  }

  /** After the replay (before the daemon stops): the breakdown, or an Error naming what did not match. */
  measure(d: Daemon, modelledNs: number): HostOverheadUs {
    d.metrics.frameTap = null;
    const b = this.backend!;
    b.bindTimeline(null);
    const jobs = b.deviceStats().jobs - this.driverJobs0;
    if (jobs !== this.n) throw new Error(`host-overhead probe: ${this.n} frames recorded, ${jobs} jobs run (a dropped frame or an extra job breaks the pairing)`);
    const start = new Float64Array(this.n), doorbell = new Float64Array(this.n), doneSeen = new Float64Array(this.n), end = new Float64Array(this.n);
    const inferStart = new Float64Array(this.n), inferEnd = new Float64Array(this.n), seq = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const o = i * FRAME_FIELDS;
      const j = ((this.driverJobs0 + i) % this.capacity) * FPGA_TIMELINE_FIELDS;
      start[i] = this.frames[o]!;
      inferStart[i] = this.frames[o + 2]!;
      inferEnd[i] = this.frames[o + 3]!;
      end[i] = this.frames[o + 4]!;
      seq[i] = this.jobs[j]!;
      doorbell[i] = this.jobs[j + 1]!;
      doneSeen[i] = this.jobs[j + 2]!;
    }
    return breakdown({ start, end, inferStart, inferEnd, seq, doorbell, doneSeen }, this.emulator, this.deviceJobs0, this.device, modelledNs);
  }
}

/** What the host side of one run recorded per job: native-clock stamps (start, end, infer) and the driver's absolute ones. */
export interface HostSide {
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly inferStart: Float64Array | null;
  readonly inferEnd: Float64Array | null;
  readonly seq: Float64Array;
  readonly doorbell: Float64Array;
  readonly doneSeen: Float64Array;
}

/**
 * Matches the host side's jobs with the emulator's (jobs deviceJobs0, deviceJobs0 + 1, ...),
 * checking each pair's seq, and summarises the per-job parts. `scratch` holds
 * EMULATOR_TIMELINE_FIELDS numbers a job.
 */
export function breakdown(h: HostSide, emulator: NativeEmulator, deviceJobs0: number, scratch: Float64Array, modelledNs: number): HostOverheadUs {
  const n = h.start.length;
  const got = emulator.timeline(scratch, deviceJobs0);
  if (got < n) throw new Error(`host-overhead probe: the emulator's timeline holds ${got} of the ${n} jobs (raise timelineJobs)`);
  // The device completes jobs the driver gave up on (a timeout when the emulator's thread was
  // descheduled past the spin budget): those have no frame. Pair by seq, in order.
  let k = 0;
  const origin = monotonicOriginNs();
  if (origin === null) throw new Error('host-overhead probe: the native addon (its clock origin) is not built');
  const cols = { e2e: [] as number[], host: [] as number[], work: [] as number[], before: [] as number[], call: [] as number[], bell: [] as number[], busy: [] as number[], cpu: [] as number[], done: [] as number[], after: [] as number[], read: [] as number[] };
  let overruns = 0;
  for (let i = 0; i < n; i++) {
    const want = h.seq[i]! % 2 ** 32;
    while (k < got && scratch[k * EMULATOR_TIMELINE_FIELDS + 1] !== want) k++;
    if (k === got) throw new Error(`host-overhead probe: job ${i}: the driver ran seq ${h.seq[i]}, which the device's timeline does not hold from job ${deviceJobs0}`);
    const e = k++ * EMULATOR_TIMELINE_FIELDS;
    // Everything relative to the native clock's origin (stamps count from it).
    const seen = scratch[e + 2]! - origin, ran = scratch[e + 3]! - origin, done = scratch[e + 4]! - origin;
    const db = h.doorbell[i]! - origin, ds = h.doneSeen[i]! - origin;
    const e2e = h.end[i]! - h.start[i]!, busy = done - seen;
    cols.e2e.push(e2e);
    cols.host.push(e2e - busy);
    cols.work.push(db - h.start[i]! + (h.end[i]! - ds));
    cols.before.push(db - h.start[i]!);
    if (h.inferStart !== null) cols.call.push(db - h.inferStart[i]!);
    cols.bell.push(seen - db);
    cols.busy.push(busy);
    cols.cpu.push(ran - seen);
    cols.done.push(ds - done);
    cols.after.push(h.end[i]! - ds);
    if (h.inferEnd !== null) cols.read.push(h.inferEnd[i]! - ds);
    if (busy > modelledNs + 100) overruns++;
  }
  return {
    frames: n, e2e: pct(cols.e2e), host: pct(cols.host), hostWork: pct(cols.work), beforeDoorbell: pct(cols.before), callToDoorbell: h.inferStart === null ? null : pct(cols.call),
    doorbellLag: pct(cols.bell), deviceBusy: pct(cols.busy), kernelCpu: pct(cols.cpu), doneLag: pct(cols.done), afterDone: pct(cols.after),
    doneToInferEnd: h.inferEnd === null ? null : pct(cols.read), overrunShare: Math.round((overruns / n) * 1000) / 1000,
  };
}

/** p50 and p99 of nanosecond samples, in microseconds to the ns. */
function pct(ns: number[]): Pct {
  const s = Float64Array.from(ns).sort();
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(s.length * q))]!) / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Medians, field by field, of several runs' breakdowns (the bench's repeats). */
export function medianOverhead(xs: readonly HostOverheadUs[]): HostOverheadUs {
  const med = (f: (x: HostOverheadUs) => number) => {
    const s = xs.map(f).sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  const p = (g: (x: HostOverheadUs) => Pct | null): Pct | null => (g(xs[0]!) === null ? null : { p50: med((x) => g(x)!.p50), p99: med((x) => g(x)!.p99) });
  return {
    frames: med((x) => x.frames), e2e: p((x) => x.e2e)!, host: p((x) => x.host)!, hostWork: p((x) => x.hostWork)!, beforeDoorbell: p((x) => x.beforeDoorbell)!, callToDoorbell: p((x) => x.callToDoorbell),
    doorbellLag: p((x) => x.doorbellLag)!, deviceBusy: p((x) => x.deviceBusy)!, kernelCpu: p((x) => x.kernelCpu)!, doneLag: p((x) => x.doneLag)!,
    afterDone: p((x) => x.afterDone)!, doneToInferEnd: p((x) => x.doneToInferEnd), overrunShare: med((x) => x.overrunShare),
  };
}
