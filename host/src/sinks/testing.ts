import type { TriggerEvent } from '../metrics/snapshot.js';

/**
 * A seeded batch of trigger records with every shape a record can take (trigger and missed,
 * 64-bit ids and none, ground truth and none, sensor time and none, payloads), values exact in
 * float32 where the record's type is float32.
 */
export function contractEvents(n: number, o: { run: string; labels: readonly string[]; firstSeq?: number; seed?: number }): TriggerEvent[] {
  let state = (o.seed ?? 7) >>> 0;
  const rand = () => {
    // mulberry32: a small seeded generator, so a failure can be reproduced from the seed.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const k = o.labels.length;
  return Array.from({ length: n }, (_, i) => {
    const seq = (o.firstSeq ?? 0) + i;
    const cls = Math.floor(rand() * k);
    const probs = Array.from({ length: k }, () => Math.fround(rand()));
    const truth = rand() < 0.3 ? -1 : Math.floor(rand() * k);
    const missed = rand() < 0.2;
    const ingestNs = 1e9 + seq * 1000 + Math.floor(rand() * 100);
    const payload: Record<string, string | number> = i % 3 === 0 ? {} : { objectId: `ZTF21aa${seq}`, streamNs: 123456789 + seq };
    return {
      kind: missed ? 'missed' : 'trigger', run: o.run, stream: i % 2 === 0 ? 'cells' : 'ztf-β', seq,
      id: rand() < 0.2 ? null : (18446744073709551615n - BigInt(seq)).toString(),
      classIndex: cls, class: o.labels[cls], truthIndex: truth, truth: truth < 0 ? null : o.labels[truth],
      score: probs[cls], probs, sensorNs: rand() < 0.25 ? null : 5e17 + seq, streamMs: rand() < 0.5 ? null : seq * 20 + 30, dueNs: ingestNs - 7, ingestNs,
      e2eUs: Math.fround(rand() * 500), late: missed,
      payload,
    };
  });
}
