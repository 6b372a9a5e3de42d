// The audio modality: 16 kHz PCM streams of spoken keywords. Its front end (`mfcc`, `logmel`:
// MLPerf Tiny's MFCC and the log-mel energies under them) registers here.
import './mfcc.js';
