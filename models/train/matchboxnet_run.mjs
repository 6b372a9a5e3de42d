// Runs the MatchboxNet keyword ONNX (../shared/data/models/matchboxnet-kws, training-time
// teacher only) on MFCC features: reads IN (raw float32, [n, 64, frames]) and writes OUT (raw
// float32 logits, [n, 33]). onnxruntime-node is already a dependency; no Python ONNX runtime is.
//   node models/train/matchboxnet_run.mjs MODEL IN N FRAMES OUT
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, input, n, frames, output] = process.argv.slice(2);
const rows = Number(n), t = Number(frames);
const x = new Float32Array(readFileSync(input).buffer.slice(0));
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const batch = 64, out = [];
for (let i = 0; i < rows; i += batch) {
  const b = Math.min(batch, rows - i);
  const tensor = new ort.Tensor("float32", x.subarray(i * 64 * t, (i + b) * 64 * t), [b, 64, t]);
  const r = await session.run({ audio_signal: tensor });
  out.push(Buffer.from(r.logits.data.buffer, r.logits.data.byteOffset, r.logits.data.byteLength));
}
writeFileSync(output, Buffer.concat(out));
