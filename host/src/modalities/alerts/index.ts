// The alerts modality: astronomy alert packets (ZTF, Rubin). Each part registers itself in its
// registry when loaded (host/src/modalities/alerts/README.md): the cutout triplet (`cutouts`)
// and the light-curve grid (`lightcurve`) preprocessors.
import './cutouts.js';
import './lightcurve.js';
