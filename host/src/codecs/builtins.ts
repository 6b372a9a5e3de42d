// The decoders every daemon has; each module registers itself in `decoders` when loaded.
import './fixed-frame.js';
import './chunks.js';
