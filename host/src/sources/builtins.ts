// The transport sources every daemon has; each module registers itself in `sources` when
// loaded. A modality's own sources (the cells' synthetic generator) register from its folder.
import './replay.js';
import './stream.js';
import './nats.js';
import './serial.js';
import './ws-ingest.js';
