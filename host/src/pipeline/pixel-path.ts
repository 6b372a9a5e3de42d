import type { Backend } from '../backends/backend.js';
import type { StreamPreprocessor } from '../preprocess/stream-preprocessor.js';

/**
 * Whether the frame now in flight goes to the backend as the camera's bytes: the firmware
 * of the model in force preprocesses (a sim library or device with a pixel entry,
 * `Backend.predictPixels`) and takes frames of exactly this pipeline's size. Then the
 * preprocess stage leaves the frame alone (no float normalisation on the host) and the infer
 * stage hands `slot.raw` straight through. Read per frame, so a model switch to a float
 * backend (onnx, a library without pixels) takes the host path again at the next frame.
 */
export type PixelRoute = () => boolean;

/**
 * The route of a pipeline, or null when no backend could take its frames as pixels: frames
 * that are not fixed-size uint8, a preprocessor that keeps state or writes several inputs,
 * or extra models (which read the float inputs the preprocessor writes).
 */
export function pixelRoute(models: { readonly backend: Backend }, pre: StreamPreprocessor, extraModels: number): PixelRoute | null {
  const shape = pre.frame.shape;
  if (pre.frame.dtype !== 'uint8' || shape === null || pre.framesPerInputMax !== 1 || pre.inputElements.length !== 1 || extraModels > 0) return null;
  const frameBytes = shape.reduce((a, b) => a * b, 1);
  return () => models.backend.pixelBytes === frameBytes;
}
