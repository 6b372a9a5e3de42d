// The jets modality: hls4ml's LHC jet-tagging benchmark, 16 features a jet. Its frames use the
// built-in `fixed` decoder and `features` preprocessor; `jet-features.ts` generates streams for `gen`.
export {};
