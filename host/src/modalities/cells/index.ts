// The cells modality: camera crops of single cells. It brings the synthetic lymphocyte stream
// (a `synthetic` source), the BCCD crops and the camera crop for datasets; its frames use the
// built-in `fixed` decoder and `image` preprocessor; its trigger view is the crop (`crop-view.ts`).
import './synthetic-source.js';
import './crop-view.js';
