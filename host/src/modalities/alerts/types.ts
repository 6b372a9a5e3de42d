import { FrameValueError } from '../../core/errors.js';
import type { FrameSlot } from '../../core/frame.js';

/**
 * The contract between the parts of the alerts modality: the Avro decoder makes an
 * `AlertView` of each packet; the cutout and light-curve preprocessors, the filters and the
 * topic writers read it. Longs are bigint (ZTF 4.02 and Rubin ids exceed 2^53).
 */

/** Which survey's layout a packet follows (`other`: a container file of an unknown survey). */
export type Survey = 'ztf' | 'rubin' | 'other';

/** Photometric bands, in this order everywhere (index = band code in `LightCurvePoints.band`). */
export const BANDS = ['u', 'g', 'r', 'i', 'z', 'y'] as const;
export type Band = (typeof BANDS)[number];

/** The writer schema a record was encoded with. */
export interface AlertSchemaInfo {
  /** Registry id (Confluent wire format; Rubin major*100+minor, ZTF 4.02 = 402), null for a
   * container file's own schema that no registered schema matches. */
  id: number | null;
  /** Full name of the top-level record (`ztf.alert`, `lsst.v9_0.alert`, `topLevelRecord`). */
  name: string;
  /** Version as the schema states it (`3.3`, `4.02`, `9.0`), null when unknown. */
  version: string | null;
  /** The writer schema as JSON (extended, never replaced, by topic writers). */
  json: unknown;
}

/**
 * A light curve as struct-of-arrays, one entry per measurement, sorted by `jd`: detections
 * (difference flux, signed) and upper limits (non-detections, `flux` = the limiting flux).
 * Units: flux and fluxErr in microjansky (ZTF: 10^(-0.4 (mag - 23.9)), sign from isdiffpos;
 * Rubin: psfFlux nJy / 1000).
 */
export interface LightCurvePoints {
  count: number;
  jd: Float64Array;
  /** Index into BANDS. */
  band: Uint8Array;
  flux: Float32Array;
  fluxErr: Float32Array;
  /** 1 for an upper limit (non-detection), 0 for a detection. */
  upperLimit: Uint8Array;
}

/** The three stamps of an alert, as stored in the packet (ZTF: gzip FITS; Rubin: plain FITS). */
export interface Cutouts {
  science: Uint8Array | null;
  template: Uint8Array | null;
  difference: Uint8Array | null;
}

/** One decoded alert, survey-neutral. */
export interface AlertView {
  survey: Survey;
  schema: AlertSchemaInfo;
  /** candid (ZTF) / diaSourceId (Rubin). */
  id: bigint;
  /** ZTF objectId / Rubin diaObjectId (decimal). */
  objectId: string;
  /** Observation time of the triggering detection, Julian date (Rubin: midpointMjdTai + 2400000.5). */
  jd: number;
  cutouts: Cutouts;
  /** Detections and upper limits, the alert's own detection included. */
  points: LightCurvePoints;
  /** The record's own Avro bytes (no container or wire framing): what topic writers extend. */
  bytes: Uint8Array;
  /** Where the record came from (file path or stream) and its index there, for error messages. */
  source: string;
  index: number;
  /**
   * A packet field by dotted path (`candidate.drb`, `ndethist` = `candidate.ndethist`,
   * `diaSource.snr`); a Fink `topLevelRecord` is unwrapped. Undefined when absent, null when null.
   */
  field(path: string): unknown;
  /** The decoded record (longs as bigint). */
  readonly value: unknown;
}

// The alert a frame slot carries between stages: the decode stage sets it, preprocessing,
// policy and routing read it. A WeakMap keyed by the preallocated slot: alerts are decoded
// into fresh objects anyway (avsc), so this side table costs nothing extra.
const bySlot = new WeakMap<FrameSlot, AlertView>();

/** Attaches the decoded alert to `slot` (decode stage). */
export function setSlotAlert(slot: FrameSlot, alert: AlertView): void {
  bySlot.set(slot, alert);
}

/** The alert `slot` carries; a FrameValueError when the decode stage set none. */
export function slotAlert(slot: FrameSlot): AlertView {
  const a = bySlot.get(slot);
  if (a === undefined) throw new FrameValueError(`frame ${slot.seq}`, 'carries no decoded alert (the alerts preprocessors need the avro decoder)');
  return a;
}
