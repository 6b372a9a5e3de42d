import { AlertDecodeError } from '../../../core/errors.js';
import { alertView } from '../alert-view.js';
import type { AlertView } from '../types.js';
import type { SchemaRegistry } from './registry.js';

/**
 * The Confluent wire format, how Rubin (and Kafka brokers generally) send one Avro record per
 * message: byte 0 = 0 (magic), the schema id as a 4-byte big-endian unsigned integer, then
 * the record's bytes with no container around them.
 */

const MAGIC = 0;
/** Magic byte and schema id. */
export const CONFLUENT_HEADER_BYTES = 5;

/** Frames `record` (Avro bytes of a schema registered as `id`) as one Confluent message (a fresh buffer). */
export function frameConfluent(id: number, record: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CONFLUENT_HEADER_BYTES + record.length);
  out[0] = MAGIC;
  out.writeUInt32BE(id, 1);
  out.set(record, CONFLUENT_HEADER_BYTES);
  return out;
}

/**
 * Decodes one Confluent-framed message of stream `name` (its `index`-th) with the schema the
 * registry holds for its id. The view's bytes and bytes fields are views into `buf`. Throws
 * AlertDecodeError: reason `truncated` (shorter than the header, or the record runs past the
 * end), `bad-header` (magic byte not 0), `unknown-schema` (no schema of that id), `corrupt`
 * (the record does not decode, or bytes are left after it).
 */
export function decodeConfluent(buf: Uint8Array, registry: SchemaRegistry, name: string, index = 0): AlertView {
  const data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = { file: name, index, schema: null as string | null };
  if (data.length < CONFLUENT_HEADER_BYTES) throw new AlertDecodeError(at, 'truncated', `message of ${data.length} bytes is shorter than the 5-byte Confluent header`);
  if (data[0] !== MAGIC) throw new AlertDecodeError(at, 'bad-header', `magic byte ${data[0]}, want 0 (Confluent wire format)`);
  const id = data.readUInt32BE(1);
  const schema = registry.get(id);
  if (schema === undefined) throw new AlertDecodeError({ ...at, schema: `id ${id}` }, 'unknown-schema', `no schema registered as id ${id} (registered: ${registry.ids().join(', ') || 'none'})`);
  at.schema = `${schema.info.name} id ${id}`;
  let decoded: { value: unknown; offset: number };
  try {
    decoded = schema.type.decode(data, CONFLUENT_HEADER_BYTES);
  } catch (err) {
    throw new AlertDecodeError(at, 'corrupt', `record does not decode: ${(err as Error).message}`, { cause: err });
  }
  if (decoded.offset < 0) throw new AlertDecodeError(at, 'truncated', `the record runs past the end of the ${data.length}-byte message`);
  if (decoded.offset !== data.length) throw new AlertDecodeError(at, 'corrupt', `${data.length - decoded.offset} bytes after the record`);
  return alertView(decoded.value, data.subarray(CONFLUENT_HEADER_BYTES), schema.info, schema.survey, name, index);
}
