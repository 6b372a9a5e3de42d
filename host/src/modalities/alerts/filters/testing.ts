import { join } from 'node:path';
import { ALERTS_DIR, avroFiles } from '../../../../../test/support/alerts.js';
import { alertView } from '../alert-view.js';
import { readAlertFile } from '../avro/container.js';
import { compileWriterSchema } from '../avro/schema.js';
import type { AlertView } from '../types.js';
import { SchemaRegistry } from '../avro/registry.js';
import { FieldCatalogue } from './catalogue.js';
import type { FilterSpec } from './filters.js';
import { fillScores, type Scores } from './scores.js';

const compiled = new WeakMap<object, ReturnType<typeof compileWriterSchema>>();

// Test support for the filter and topic tests (nothing in the daemon imports it).

/** The AlertView of a record made in a test, encoded and decoded with the alert decoder's own writer-schema compilation (bigint longs). */
export function testAlert(schema: Record<string, unknown>, value: Record<string, unknown>, index = 0): AlertView {
  let ws = compiled.get(schema);
  if (ws === undefined) compiled.set(schema, (ws = compileWriterSchema(schema)));
  const bytes = new Uint8Array(ws.type.toBuffer(value));
  return alertView(ws.type.fromBuffer(Buffer.from(bytes)), bytes, ws.info, ws.survey, 'test', index);
}

export const CLASSES = ['SN Ia', 'SN II', 'AGN', 'TDE'];

/** Scores made up from the packet (no model here): P(real) = drb or reliability, a class by id. */
export function madeUpScores(a: AlertView, out: Scores): Scores {
  const k = Number(a.id % 4n);
  const probs = Float32Array.from(CLASSES, (_c, i) => (i === k ? 0.7 : 0.1));
  const rb = a.field(a.survey === 'ztf' ? 'drb' : 'reliability');
  return fillScores(out, CLASSES, probs, typeof rb === 'number' ? rb : null);
}

/** Every real ZTF 4.02 (Fink) and Rubin 9.0 packet, and the ZTF 3.3 night. */
export function replayAlerts(): AlertView[] {
  return ['ztf-4.02-2023-10', 'rubin-9.0-2025-09', 'ztf-3.3-2020-01'].flatMap((d) => avroFiles(join(ALERTS_DIR, d)).flatMap((f) => readAlertFile(f).alerts));
}

export const REPLAY_FILTERS: FilterSpec[] = [
  { name: 'bright', expr: 'candidate.magpsf < 18 && drb > 0.5', topic: 'bright' },
  { name: 'faint-real', expr: 'magpsf >= 18 && realbogus > 0.9', topic: 'ztf-real' },
  { name: 'ia', expr: 'class == "SN Ia" && score > 0.5', topic: 'sn' },
  { name: 'rubin-snr', expr: 'snr > 20 && !(band in ["u", "y"])', topic: 'rubin' },
  // Packets with fewer than 31 previous detections lack item 30: a FilterError each.
  { name: 'long-history', expr: 'prv_candidates[30].jd > 0', topic: 'history' },
];

export function replayCatalogues(): FieldCatalogue[] {
  return [FieldCatalogue.fromSchema(ztfSchemaJson(), 'ztf 4.02'), FieldCatalogue.fromSchema(rubinSchemaJson(9), 'rubin 9.0')];
}


/** The official ZTF 4.02 schema (ztf-avro-alert's folder, assembled by the schema registry). */
export function ztfSchemaJson(): unknown {
  return new SchemaRegistry().loadZtf(join(ALERTS_DIR, 'ztf-avro-alert', 'schema')).info.json;
}

/** Rubin's schema `major`.0 from lsst/alert_packet's folder, assembled by the schema registry. */
export function rubinSchemaJson(major: number): unknown {
  return new SchemaRegistry().loadFolder(join(ALERTS_DIR, 'rubin-schemas', String(major), '0'), `lsst.v${major}_0.alert`, major * 100).info.json;
}
