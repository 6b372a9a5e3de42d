// Every modality the daemon knows: each folder registers its sources, decoders and
// preprocessors when loaded (host/src/modalities/README.md).
import './alerts/index.js';
import './audio/index.js';
import './cells/index.js';
import './jets/index.js';
