// The preprocessors every daemon has; each module registers itself in `preprocessors` when
// loaded. A modality's own preprocessors register from its folder (host/src/modalities/).
import './image.js';
import './features.js';
import './window.js';
