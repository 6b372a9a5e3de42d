import { z } from 'zod';
import { decoders } from '../../codecs/registry.js';
import { AlertDecodeError } from '../../core/errors.js';
import { setFrameId, type FrameSlot } from '../../core/frame.js';
import type { FrameStage } from '../../pipeline/stage.js';
import { alertView } from './alert-view.js';
import type { WriterSchema } from './avro/schema.js';
import { recordBase, recordIndexAt } from './record-bases.js';
import { jdToUnixNs } from './sources/timeline.js';
import { setSlotAlert, type AlertView } from './types.js';

// One encoder for every frame: `encodeInto` writes into the slot's payload without allocating.
const utf8 = new TextEncoder();

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
export function createAvroAlertDecoder(stream: string): FrameStage {
  return {
    name: 'decode',
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

decoders.register({
  kind: 'avro',
  summary: 'alert records of Avro container files (sources alerts, alerts-watch), decoded with their writer schema into an AlertView',
  schema: z.object({ kind: z.literal('avro') }).strict(),
  create: (_cfg, ctx) => createAvroAlertDecoder(ctx.spec.stream),
});
