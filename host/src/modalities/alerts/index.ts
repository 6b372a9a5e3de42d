// The alerts modality: astronomy alert packets (ZTF, Rubin). Each part registers itself in its
// registry when loaded (host/src/modalities/alerts/README.md).
import './cutouts.js';
