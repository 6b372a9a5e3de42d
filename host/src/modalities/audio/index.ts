// The audio modality: keyword spotting on a 16 kHz stream. Its sources (`wav`: WAV files and
// folders, resampled; `pcm`: live s16le PCM on stdin, a file/FIFO or TCP) register here; both
// hand the pipeline chunks of int16 samples for the `chunks` decoder and `window` preprocessor.
import './sources/wav-source.js';
import './sources/pcm-source.js';
