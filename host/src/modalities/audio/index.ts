// The audio modality: keyword spotting on a 16 kHz stream. Its sources (`wav`: WAV files and
// folders, resampled; `pcm`: live s16le PCM on stdin, a file/FIFO or TCP) hand the pipeline
// chunks of int16 samples for the `chunks` decoder; its front end (`mfcc`, `logmel`: MLPerf
// Tiny's MFCC and the log-mel energies under them, on the `window` ring) registers here too,
// and its trigger view (the window's features, `spectrogram-view.ts`).
import './mfcc.js';
import './spectrogram-view.js';
import './sources/wav-source.js';
import './sources/pcm-source.js';
