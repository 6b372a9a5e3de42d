// The filters and topics of the alerts modality: what the composition root wires in
// (README.md in this folder says how).
export { FieldCatalogue, registryCatalogues, type FieldInfo, type FieldKind } from './catalogue.js';
export { compileFilters, filterSpecSchema, filtersSchema, type CompiledFilter, type CompileOptions, type FilterSpec } from './filters.js';
export { TopicRouter, type FilterCounters, type RouteOutcome, type RouterCounters, type Routing } from './router.js';
export { emptyScores, fillScores, SCORE_NAMES, type Scores } from './scores.js';
export { EXTENSION_FIELDS } from './extension.js';
export { alertRoutingSchema, topicBasePaths, TopicWriters, topicWritersSchema, type TopicCounters, type TopicWritersContext, type TopicWritersOptions } from './topic-writers.js';
