import avro from 'avsc';
import { ConfigError } from '../../../core/errors.js';
import type { Scores } from './scores.js';

/**
 * The fields hairtrigger appends to the top-level record of every alert a topic file holds,
 * as Fink adds its science modules' columns: the writer schema is extended, never replaced,
 * so a reader of the original schema still reads every original field (Avro schema
 * resolution skips the new ones), and the nullable ones default to null for readers of the
 * extended schema given an original file.
 */
export const EXTENSION_FIELDS = [
  { name: 'hairtrigger_run', type: 'string', default: '', doc: 'run id of the hairtrigger daemon that routed the alert' },
  { name: 'hairtrigger_topic', type: 'string', default: '', doc: 'topic the alert was routed to' },
  { name: 'hairtrigger_filters', type: { type: 'array', items: 'string' }, default: [], doc: 'filters that sent it to this topic, in config order' },
  { name: 'hairtrigger_class', type: ['null', 'string'], default: null, doc: 'transient classifier: top class' },
  { name: 'hairtrigger_score', type: ['null', 'double'], default: null, doc: 'transient classifier: probability of the top class' },
  { name: 'hairtrigger_realbogus', type: ['null', 'double'], default: null, doc: 'real/bogus student: P(real)' },
  { name: 'hairtrigger_probabilities', type: ['null', { type: 'map', values: 'double' }], default: null, doc: 'transient classifier: probability by class' },
] as const;

/** What the appended fields hold for one alert in one topic. */
export interface Extension {
  hairtrigger_run: string;
  hairtrigger_topic: string;
  hairtrigger_filters: string[];
  hairtrigger_class: string | null;
  hairtrigger_score: number | null;
  hairtrigger_realbogus: number | null;
  hairtrigger_probabilities: Record<string, number> | null;
}

// A record of just the appended fields: its encoding is theirs, back to back, because an
// Avro record is encoded as the concatenation of its fields' encodings.
const EXTENSION_TYPE = avro.Type.forSchema({ type: 'record', name: 'hairtrigger_extension', fields: EXTENSION_FIELDS as unknown as avro.schema.RecordType['fields'] });

/**
 * `schema` (a writer schema's JSON, a record) with the extension fields appended to its
 * top-level record. A name that the writer schema already uses is a ConfigError naming it.
 */
export function extendSchema(schema: unknown, where: string): Record<string, unknown> {
  const s = schema as { type?: unknown; fields?: Array<{ name: string }> };
  if (s === null || typeof s !== 'object' || s.type !== 'record' || !Array.isArray(s.fields)) throw new ConfigError(where, 'the writer schema is not an Avro record: it cannot be extended');
  const taken = new Set(s.fields.map((f) => f.name));
  const clash = EXTENSION_FIELDS.filter((f) => taken.has(f.name)).map((f) => f.name);
  if (clash.length > 0) throw new ConfigError(where, `the writer schema already has ${clash.join(', ')}: hairtrigger's added fields would collide`);
  return { ...(schema as object), fields: [...s.fields, ...EXTENSION_FIELDS] };
}

/** Fills the extension of one routed alert from its scores (`classes` names `scores.probabilities`). */
export function extensionOf(run: string, topic: string, filters: string[], scores: Scores, classes: readonly string[]): Extension {
  let probabilities: Record<string, number> | null = null;
  if (scores.probabilities !== null) {
    probabilities = {};
    for (let i = 0; i < classes.length; i++) probabilities[classes[i]] = scores.probabilities[i];
  }
  return {
    hairtrigger_run: run,
    hairtrigger_topic: topic,
    hairtrigger_filters: filters,
    hairtrigger_class: scores.class,
    hairtrigger_score: scores.score,
    hairtrigger_realbogus: scores.realbogus,
    hairtrigger_probabilities: probabilities,
  };
}

/** The encoding of the appended fields: the extended record is the original record's bytes followed by these. */
export function encodeExtension(ext: Extension): Buffer {
  return EXTENSION_TYPE.toBuffer(ext);
}
