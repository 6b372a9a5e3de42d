// Types of the `fft.js` package (indutny/fft.js 4.x ships none): only what the MFCC front end uses.
declare module 'fft.js' {
  /** Radix-4 FFT of a power-of-two `size`; tables built once in the constructor. */
  export default class FFT {
    constructor(size: number);
    readonly size: number;
    /** A zeroed interleaved complex array (re, im) of `size` entries. */
    createComplexArray(): number[];
    /** FFT of real `data` (length `size`) into interleaved `out`: only bins 0..size/2 are written. */
    realTransform(out: ArrayLike<number> & { [i: number]: number }, data: ArrayLike<number>): void;
    /** Fills bins size/2+1.. of `out` from the conjugate symmetry of a real transform. */
    completeSpectrum(out: ArrayLike<number> & { [i: number]: number }): void;
  }
}
