import { z } from 'zod';
import { decoders, type DecoderStage } from '../../codecs/registry.js';
import { AlertDecodeError, ConfigError } from '../../core/errors.js';
import { setFrameId, type FrameSlot } from '../../core/frame.js';
import { alertView } from './alert-view.js';
import { decodeConfluent } from './avro/confluent.js';
import { SchemaRegistry } from './avro/registry.js';
import type { WriterSchema } from './avro/schema.js';
import { recordBase, recordIndexAt } from './record-bases.js';
import { jdToUnixNs } from './sources/timeline.js';
import { setSlotAlert, type AlertView } from './types.js';

// One encoder for every frame: `encodeInto` writes into the slot's payload without allocating.
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** An alert's payload in trigger records and decision lines: its objectId. */
function describeAlertPayload(bytes: Uint8Array): Record<string, string> {
  return { objectId: utf8Decoder.decode(bytes) };
}

/**
 * What every alert decoder does with a decoded alert: attaches it to the slot, and writes
 * the slot's id (candid / diaSourceId; unknown when the packet has none), sensor time (the
 * jd as ns since the Unix epoch) and payload (the objectId, UTF-8, cut at
 * `triggerPayloadBytesMax` bytes) that travel with the trigger.
 */
export function fillAlertSlot(slot: FrameSlot, view: AlertView): void {
  setSlotAlert(slot, view);
  if (view.id >= 0n) setFrameId(slot, view.id);
  slot.sensorNs = Number.isFinite(view.jd) ? jdToUnixNs(view.jd) : Number.NaN;
  slot.payloadLength = utf8.encodeInto(view.objectId, slot.payload).written;
}

/**
 * Decodes the record at `raw[offset, offset + length)` with `schema` into an AlertView; an
 * AlertDecodeError (`corrupt`) when it does not decode or does not end where the record does.
 * Allocates (avsc builds the record): accepted for alerts, whose budgets are milliseconds.
 */
export function decodeRecord(raw: Buffer, offset: number, length: number, schema: WriterSchema, at: { file: string; index: number }): AlertView {
  let d: { value: unknown; offset: number };
  try {
    d = schema.type.decode(raw, offset);
  } catch (err) {
    throw new AlertDecodeError({ ...at, schema: schema.info.name }, 'corrupt', `record does not decode: ${(err as Error).message}`, { cause: err });
  }
  if (d.offset !== offset + length) {
    throw new AlertDecodeError({ ...at, schema: schema.info.name }, d.offset < 0 ? 'truncated' : 'corrupt', `record of ${length} bytes ${d.offset < 0 ? 'ends early' : `decodes to ${d.offset - offset} bytes`}`);
  }
  return alertView(d.value, raw.subarray(offset, offset + length), schema.info, schema.survey, at.file, at.index);
}

/**
 * The `avro` decoder: the records of the `alerts` and `alerts-watch` sources, each decoded
 * with its file's writer schema (found from the buffer the slot points into,
 * `record-bases.ts`). A record that does not decode is an AlertDecodeError: that frame is
 * dropped and counted, the stream goes on.
 */
export function createAvroAlertDecoder(stream: string): DecoderStage {
  return {
    name: 'decode',
    describePayload: describeAlertPayload,
    run(slot: FrameSlot): boolean {
      const b = recordBase(slot.raw);
      if (b === undefined) {
        throw new AlertDecodeError({ file: `stream ${stream}`, index: slot.seq, schema: null }, 'unknown-schema', 'the frame does not come from an alerts source (the avro decoder takes the alerts and alerts-watch sources; Confluent messages take the confluent decoder)');
      }
      const view = decodeRecord(slot.raw as Buffer, slot.rawOffset, slot.rawLength, b.schema, { file: b.source, index: recordIndexAt(b, slot.rawOffset) });
      fillAlertSlot(slot, view);
      return true;
    },
  };
}

/**
 * The `confluent` decoder: bare messages in the Confluent wire format (`alerts-confluent`, and
 * the broker transports), each decoded with the registered schema its id names. The frame's
 * index in error messages is its `seq` (its place in the stream).
 */
export function createConfluentAlertDecoder(stream: string, registry: SchemaRegistry): DecoderStage {
  const name = `stream ${stream}`;
  return {
    name: 'decode',
    describePayload: describeAlertPayload,
    run(slot: FrameSlot): boolean {
      const message = slot.raw.subarray(slot.rawOffset, slot.rawOffset + slot.rawLength);
      fillAlertSlot(slot, decodeConfluent(message, registry, name, slot.seq));
      return true;
    },
  };
}

/** The config of a `confluent` decoder: where the schemas its messages name are. */
export const confluentDecoderSchema = z
  .object({
    kind: z.literal('confluent'),
    /** Rubin's schemas in lsst/alert_packet's layout (`<major>/<minor>/*.avsc`; id major*100+minor). */
    rubinSchemas: z.string().min(1).optional(),
    /** ZTF's schema folder (ztf-avro-alert's `schema/`), registered as `ztfSchemaId`. */
    ztfSchemas: z.string().min(1).optional(),
    ztfSchemaId: z.number().int().min(0).max(0xffffffff).default(402),
  })
  .strict()
  .refine((c) => c.rubinSchemas !== undefined || c.ztfSchemas !== undefined, 'name at least one schema folder: rubinSchemas or ztfSchemas');
export type ConfluentDecoderConfig = z.infer<typeof confluentDecoderSchema>;

/**
 * The registry of the schema folders a config names (a `confluent` decoder's, the `topics`
 * router's): Rubin's lsst/alert_packet layout and/or ZTF's folder. A folder that does not load
 * is a ConfigError naming `<where>.<field>`.
 */
export function schemaFolderRegistry(c: { rubinSchemas?: string; ztfSchemas?: string; ztfSchemaId?: number }, at: (p: string) => string, where: string): SchemaRegistry {
  const registry = new SchemaRegistry();
  const load = (field: string, dir: string, fn: (d: string) => unknown) => {
    try {
      fn(at(dir));
    } catch (err) {
      throw new ConfigError(`${where}.${field}`, `value ${JSON.stringify(dir)}: the schemas do not load (${(err as Error).message})`, { cause: err });
    }
  };
  if (c.rubinSchemas !== undefined) load('rubinSchemas', c.rubinSchemas, (d) => registry.loadRubin(d));
  if (c.ztfSchemas !== undefined) load('ztfSchemas', c.ztfSchemas, (d) => registry.loadZtf(d, c.ztfSchemaId));
  return registry;
}

decoders.register({
  kind: 'confluent',
  summary: 'bare Confluent wire-format alert messages (source alerts-confluent), decoded with the registered schema their id names',
  schema: confluentDecoderSchema as unknown as z.ZodType<ConfluentDecoderConfig>,
  create: (cfg, ctx) => createConfluentAlertDecoder(ctx.spec.stream, schemaFolderRegistry(cfg as ConfluentDecoderConfig, ctx.at ?? ((p) => p), 'decoder')),
});

decoders.register({
  kind: 'avro',
  summary: 'alert records of Avro container files (sources alerts, alerts-watch), decoded with their writer schema into an AlertView',
  schema: z.object({ kind: z.literal('avro') }).strict(),
  create: (_cfg, ctx) => createAvroAlertDecoder(ctx.spec.stream),
});
