import { frameDetails, type FrameDetail, type FrameDetailContext } from '../../codecs/frame-detail.js';
import { AlertDecodeError } from '../../core/errors.js';
import { limits } from '../../core/limits.js';
import type { TriggerEvent } from '../../metrics/snapshot.js';
import type { TriggerView } from '../../server/api-types.js';
import { decodeConfluent } from './avro/confluent.js';
import type { WriterSchema } from './avro/schema.js';
import { CUTOUT_CHANNELS, createCutoutScratch, decodeStamp, type CutoutScratch } from './cutouts.js';
import { decodeRecord, schemaFolderRegistry, type ConfluentDecoderConfig } from './decode.js';
import { FLUX_ERR_PER_MAG, MJD_TO_JD_DAYS, microJanskyToMag } from './points.js';
import { recordBase } from './record-bases.js';
import { BANDS, type AlertView } from './types.js';

type AlertTriggerView = Extract<TriggerView, { kind: 'alert' }>;

/**
 * The alerts' trigger view. On the hot path the packet's bytes are kept as they came (a
 * container file's record, or a Confluent message) with, for a container record, its writer
 * schema; on request the packet is decoded again with the modality's own decoders: the
 * objectId, the three stamps (gzip or plain FITS -> float pixels, row-major as astropy's
 * `data.ravel()`, NaN and infinities as null) and the light curve per band (detections of the
 * alert and its history, as AB magnitudes).
 */
export function alertDetail(decode: (bytes: Uint8Array, schema: unknown, event: TriggerEvent) => AlertView, contextOf?: FrameDetail['context']): FrameDetail {
  const scratch = createCutoutScratch();
  return {
    keeps: 'raw',
    sizeMax: limits.triggerDetailFrameBytesMax,
    ...(contextOf === undefined ? {} : { context: contextOf }),
    view(kept, context, event): TriggerView {
      const alert = decode(kept as Uint8Array, context, event);
      return { kind: 'alert', objectId: alert.objectId, cutouts: cutoutsOf(alert, scratch), lightcurve: lightCurveOf(alert) };
    },
  };
}

/** The stamps the alert carries, decoded; a missing stamp is left out. */
export function cutoutsOf(alert: AlertView, scratch: CutoutScratch = createCutoutScratch()): AlertTriggerView['cutouts'] {
  const out: AlertTriggerView['cutouts'] = [];
  for (const [name, field] of CUTOUT_CHANNELS) {
    const bytes = alert.cutouts[name];
    if (bytes === null) continue;
    const img = decodeStamp(bytes, scratch, `${alert.source} record ${alert.index}: ${field}`);
    const pixels: Array<number | null> = [];
    for (let i = 0, n = img.width * img.height; i < n; i++) {
      const v = img.pixels[i]!;
      pixels.push(Number.isFinite(v) ? v : null);
    }
    out.push({ name, width: img.width, height: img.height, pixels });
  }
  return out;
}

/**
 * The alert's detections per band (ugrizy order, bands without one left out), sorted by time:
 * mjd, AB magnitude of the difference flux's size (ZTF's magpsf convention: a fading source
 * has a magnitude too) and its error. Upper limits and zero or non-finite fluxes are left out.
 */
export function lightCurveOf(alert: AlertView): AlertTriggerView['lightcurve'] {
  const p = alert.points;
  const bands = BANDS.map((band) => ({ band, mjd: [] as number[], mag: [] as number[], magErr: [] as number[] }));
  for (let i = 0; i < p.count; i++) {
    const flux = Math.abs(p.flux[i]!);
    if (p.upperLimit[i] === 1 || !(flux > 0) || !Number.isFinite(flux)) continue;
    const b = bands[p.band[i]!]!;
    b.mjd.push(p.jd[i]! - MJD_TO_JD_DAYS);
    b.mag.push(microJanskyToMag(flux));
    b.magErr.push(p.fluxErr[i]! / flux / FLUX_ERR_PER_MAG);
  }
  return bands.filter((b) => b.mjd.length > 0);
}

/** A container record (decoder `avro`): decoded with the writer schema kept beside it. */
function decodeContainerRecord(bytes: Uint8Array, schema: unknown, event: TriggerEvent): AlertView {
  const at = { file: `stream ${event.stream}`, index: event.seq };
  if (schema === null) throw new AlertDecodeError({ ...at, schema: null }, 'unknown-schema', 'the record\'s writer schema was not known when it fired');
  return decodeRecord(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length, schema as WriterSchema, at);
}

/** The writer schema of the record a slot points at (WeakMap lookup: allocates nothing). */
const writerSchemaOf: FrameDetail['context'] = (slot) => recordBase(slot.raw)?.schema ?? null;

function create(ctx: FrameDetailContext): FrameDetail {
  if (ctx.decoder.kind === 'avro') return alertDetail(decodeContainerRecord, writerSchemaOf);
  const registry = schemaFolderRegistry(ctx.decoder as unknown as ConfluentDecoderConfig, ctx.at, 'decoder');
  return alertDetail((bytes, _schema, event) => decodeConfluent(bytes, registry, `stream ${event.stream}`, event.seq));
}

frameDetails.register({
  name: 'alert packet',
  applies: (ctx) => ctx.decoder.kind === 'avro' || ctx.decoder.kind === 'confluent',
  create,
});
