// The sources every daemon has; each module registers itself in `sources` when loaded.
import './replay.js';
import './synthetic.js';
import './stream.js';
