// The alerts modality: astronomy alert packets (ZTF, Rubin). Its sources (`alerts`: container
// files in observation order; `alerts-watch`: a folder a survey or mirror writes into;
// `alerts-confluent`: bare Confluent wire-format messages) and decoders (`avro`, `confluent`)
// register here, as do its preprocessors (`cutouts`, `lightcurve`), router (`topics`) and
// trigger view (`alert-detail.ts`: cutouts and light curve, decoded on request).
import './sources/replay-source.js';
import './sources/watch-source.js';
import './sources/confluent-source.js';
import './decode.js';
import './topics-router.js';
import './cutouts.js';
import './lightcurve.js';
import './alert-detail.js';
