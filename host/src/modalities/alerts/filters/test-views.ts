import { alertView } from '../alert-view.js';
import { compileWriterSchema } from '../avro/schema.js';
import type { AlertView } from '../types.js';

const compiled = new WeakMap<object, ReturnType<typeof compileWriterSchema>>();

/**
 * Test support (nothing in the daemon imports it): the AlertView of a record made in a test,
 * encoded and decoded with the alert decoder's own writer-schema compilation (bigint longs).
 */
export function testAlert(schema: Record<string, unknown>, value: Record<string, unknown>, index = 0): AlertView {
  let ws = compiled.get(schema);
  if (ws === undefined) compiled.set(schema, (ws = compileWriterSchema(schema)));
  const bytes = new Uint8Array(ws.type.toBuffer(value));
  return alertView(ws.type.fromBuffer(Buffer.from(bytes)), bytes, ws.info, ws.survey, 'test', index);
}
