/**
 * Whether each pipeline is up, for `GET /healthz`: a service manager's watchdog or an
 * orchestrator's probe (HTTP 200 when every pipeline is up, 503 otherwise). Pure bookkeeping:
 * the composition root samples the pipeline's counters on a timer (off the hot path) and
 * asks for a report per request.
 */
import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';

/** When a running pipeline counts as down (config `server.health`). */
export interface HealthLimits {
  /** Down when no frame arrived for this long (seconds); null: a quiet source is not a fault. */
  frameAgeMaxS: number | null;
  /** Down when more than this fraction of the frames of the last `healthWindowS` failed. */
  errorRatioMax: number;
}

/** What a source says of itself (a socket listening, a file being read, a link lost). */
export interface SourceHealth {
  up: boolean;
  /** What it is doing, or why it is down: "listening on 127.0.0.1:9400, 1 connection". */
  detail: string;
}

/** One pipeline's state as `/healthz` shows it. */
export interface PipelineHealth {
  pipeline: string;
  up: boolean;
  /** Why it is down (empty when up), one phrase each. */
  reasons: string[];
  state: 'starting' | 'running' | 'stopping';
  source: { kind: string; ended: boolean } & SourceHealth;
  backend: { kind: string; loaded: boolean; faulted: boolean };
  /** Frames decided, and frames lost before a decision, since start. */
  frames: number;
  failed: number;
  /** Seconds since the last frame (decided or failed) was seen, to the sampling interval; null before the first. */
  lastFrameAgeS: number | null;
  /** Failed / (decided + failed) over the last `windowS` seconds; 0 without frames. */
  errorRatio: number;
  windowS: number;
}

/** The body of `/healthz`. */
export interface HealthReport {
  status: 'up' | 'down';
  uptimeS: number;
  pipelines: PipelineHealth[];
}

/** What the monitor is told at report time about the parts it cannot count. */
export interface HealthInputs {
  pipeline: string;
  state: PipelineHealth['state'];
  sourceKind: string;
  sourceEnded: boolean;
  /** The source's own account; absent: up while it has not ended. */
  source?: SourceHealth;
  backendKind: string;
  backendLoaded: boolean;
  /** The fpga device stopped answering (snapshot `device.faulted`). */
  backendFaulted: boolean;
}

/**
 * Keeps the last `healthWindowS` of samples of one pipeline's frame counters in a ring (taken
 * every `healthSampleIntervalMs` by the caller) and judges it against `HealthLimits`.
 */
export class HealthMonitor {
  private readonly atNs: Float64Array;
  private readonly decided: Float64Array;
  private readonly failed: Float64Array;
  private n = 0;
  private next = 0;
  /** When the frame counters last moved (ns), NaN before. */
  private lastChangeNs = Number.NaN;

  constructor(private readonly limitsOf: HealthLimits) {
    const size = Math.ceil((limits.healthWindowS * 1000) / limits.healthSampleIntervalMs) + 1;
    this.atNs = new Float64Array(size);
    this.decided = new Float64Array(size);
    this.failed = new Float64Array(size);
  }

  /** Records the counters at `nowNs` (monotonic). */
  sample(nowNs: number, decided: number, failed: number): void {
    const last = this.n === 0 ? -1 : (this.next - 1 + this.atNs.length) % this.atNs.length;
    if (last >= 0) assert(nowNs >= this.atNs[last], 'health samples in time order');
    if (decided + failed > 0 && (last < 0 || decided + failed !== this.decided[last] + this.failed[last])) this.lastChangeNs = nowNs;
    this.atNs[this.next] = nowNs;
    this.decided[this.next] = decided;
    this.failed[this.next] = failed;
    this.next = (this.next + 1) % this.atNs.length;
    if (this.n < this.atNs.length) this.n++;
  }

  /** The pipeline's health at `nowNs`, from the samples and `inputs`. */
  report(nowNs: number, inputs: HealthInputs): PipelineHealth {
    const newest = (this.next - 1 + this.atNs.length) % this.atNs.length;
    const oldest = this.n < this.atNs.length ? 0 : this.next;
    const decided = this.n === 0 ? 0 : this.decided[newest];
    const failed = this.n === 0 ? 0 : this.failed[newest];
    const dDecided = this.n === 0 ? 0 : decided - this.decided[oldest];
    const dFailed = this.n === 0 ? 0 : failed - this.failed[oldest];
    const errorRatio = dDecided + dFailed > 0 ? dFailed / (dDecided + dFailed) : 0;
    const ageS = Number.isNaN(this.lastChangeNs) ? null : Math.round((nowNs - this.lastChangeNs) / 1e6) / 1e3;
    const source = inputs.source ?? { up: !inputs.sourceEnded, detail: inputs.sourceEnded ? 'ended' : 'running' };
    const reasons: string[] = [];
    if (inputs.state !== 'running') reasons.push(`pipeline ${inputs.state}`);
    if (inputs.sourceEnded) reasons.push(`source ${inputs.sourceKind} ended`);
    else if (!source.up) reasons.push(`source ${inputs.sourceKind}: ${source.detail}`);
    if (!inputs.backendLoaded) reasons.push(`backend ${inputs.backendKind} not loaded`);
    if (inputs.backendFaulted) reasons.push(`backend ${inputs.backendKind}: device faulted (not answering)`);
    const frameAgeMaxS = this.limitsOf.frameAgeMaxS;
    if (inputs.state === 'running' && frameAgeMaxS !== null) {
      if (ageS === null) reasons.push(`no frame yet (server.health.frameAgeMaxS ${frameAgeMaxS} s)`);
      else if (ageS > frameAgeMaxS) reasons.push(`last frame ${ageS} s ago, more than server.health.frameAgeMaxS ${frameAgeMaxS} s`);
    }
    if (errorRatio > this.limitsOf.errorRatioMax) reasons.push(`${(errorRatio * 100).toFixed(1)}% of the frames of the last ${limits.healthWindowS} s failed, more than server.health.errorRatioMax ${this.limitsOf.errorRatioMax}`);
    return {
      pipeline: inputs.pipeline, up: reasons.length === 0, reasons, state: inputs.state,
      source: { kind: inputs.sourceKind, ended: inputs.sourceEnded, ...source },
      backend: { kind: inputs.backendKind, loaded: inputs.backendLoaded, faulted: inputs.backendFaulted },
      frames: decided, failed, lastFrameAgeS: ageS, errorRatio, windowS: limits.healthWindowS,
    };
  }
}

/** The `/healthz` body over `pipelines`: up when every one is. */
export function healthReport(uptimeS: number, pipelines: PipelineHealth[]): HealthReport {
  return { status: pipelines.length > 0 && pipelines.every((p) => p.up) ? 'up' : 'down', uptimeS, pipelines };
}
