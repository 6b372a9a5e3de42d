import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';
import { frameIdString, STAMP, STAMP_INGEST, type FrameSlot } from '../core/frame.js';
import type { TriggerEvent } from '../metrics/snapshot.js';

/** What a drain needs to turn the ring's columns into records (names resolved at the edge). */
export interface TriggerNames {
  run: string;
  /** Stream names by the slots' `stream` index. */
  streams: readonly string[];
  labels: readonly string[];
  /** The modality's payload as fields; `bytes` is a view valid only during the call. */
  describePayload(bytes: Uint8Array): Record<string, string | number>;
  /** The stream's `sensorNs` is stream time (`FrameSpec.streamTime`): records carry `streamMs`. */
  streamTime?: boolean;
  /** The models a pipeline may switch between (config `models`), by index: with more than one,
   * each record names the model that decided it (`model`). */
  models?: readonly string[];
}

/** No payload: the cells modality carries none. */
export const noPayload = (): Record<string, string | number> => ({});

/** `pushHeld`'s deciders. */
export const HELD_STUDENT = 1;
export const HELD_TEACHER = 2;

const KIND_TRIGGER = 0;
const KIND_MISSED = 1;

/**
 * The hand-over between the hot path and everything that reports triggers. The emit stage
 * `push`es a slot into preallocated columns (no allocation); one reader (`TriggerLog`) drains
 * new records off the hot path. If the reader falls a whole ring behind, the oldest unread
 * records are overwritten and `overflows` counts them (policy: drop-oldest).
 */
export class TriggerRing {
  readonly capacity: number;
  readonly classes: number;
  private readonly kind: Uint8Array;
  private readonly stream: Uint16Array;
  private readonly seq: Float64Array;
  private readonly id: Uint32Array;
  private readonly idKnown: Uint8Array;
  private readonly cls: Int16Array;
  private readonly truth: Int16Array;
  private readonly score: Float32Array;
  private readonly probs: Float32Array;
  private readonly times: Float64Array;
  private readonly e2eUs: Float32Array;
  private readonly late: Uint8Array;
  private readonly payload: Uint8Array;
  private readonly payloadLength: Uint8Array;
  /** Records the cascade held (`cascade.replace`) by position: who decided, the student's top-1
   * class and the teacher's (-1 when it had not answered). Written by `pushHeld`, off the hot
   * path (so `push` stays as it was: one more store there cost the keyword pipeline's hot path
   * bytes a frame, test/integration/hot-path-alloc.test.ts), read and pruned on drain. */
  private readonly held = new Map<number, { by: typeof HELD_STUDENT | typeof HELD_TEACHER; student: number; teacher: number; teacherScore: number; inTime: boolean }>();
  /** Records ever pushed; the write index is `written % capacity`. */
  written = 0;
  private read = 0;
  /** Model switches by record position, oldest first: records from `from` on were decided by
   * model `index`. Kept off the hot path (a switch happens between frames), pruned on drain. */
  private readonly models: Array<{ from: number; index: number }> = [{ from: 0, index: 0 }];
  overflows = 0;

  constructor(classes: number, capacity: number = limits.triggerRingSlotsMax) {
    assert(capacity > 0 && capacity <= limits.triggerRingSlotsMax, 'trigger ring capacity within limits');
    assert(classes > 0 && classes <= limits.classesMax, 'classes within limits');
    assert(limits.triggerPayloadBytesMax <= 255, 'payload length fits a byte');
    this.capacity = capacity;
    this.classes = classes;
    this.kind = new Uint8Array(capacity);
    this.stream = new Uint16Array(capacity);
    this.seq = new Float64Array(capacity);
    this.id = new Uint32Array(capacity * 2);
    this.idKnown = new Uint8Array(capacity);
    this.cls = new Int16Array(capacity);
    this.truth = new Int16Array(capacity);
    this.score = new Float32Array(capacity);
    this.probs = new Float32Array(capacity * classes);
    this.times = new Float64Array(capacity * 3);
    this.e2eUs = new Float32Array(capacity);
    this.late = new Uint8Array(capacity);
    this.payload = new Uint8Array(capacity * limits.triggerPayloadBytesMax);
    this.payloadLength = new Uint8Array(capacity);
  }

  /**
   * Records the trigger (or the missed trigger, `slot.missed`) of `slot`, stamped at the
   * write (`stampsNs[STAMP.emit]`): e2e runs from its due time to then. Hot path: never
   * allocates (no double is passed as an argument: V8 boxes one when it does not inline).
   */
  push(slot: FrameSlot): void {
    const e2eUs = (slot.stampsNs[STAMP.emit] - slot.dueNs) / 1000;
    const i = this.written % this.capacity;
    this.kind[i] = slot.missed ? KIND_MISSED : KIND_TRIGGER;
    this.stream[i] = slot.stream;
    this.seq[i] = slot.seq;
    this.id[2 * i] = slot.idHi;
    this.id[2 * i + 1] = slot.idLo;
    this.idKnown[i] = slot.idKnown ? 1 : 0;
    this.cls[i] = slot.predicted;
    this.truth[i] = slot.label;
    this.score[i] = slot.score;
    const p = slot.probs;
    const base = i * this.classes;
    for (let k = 0; k < this.classes; k++) this.probs[base + k] = p[k];
    this.times[3 * i] = slot.sensorNs;
    this.times[3 * i + 1] = slot.dueNs;
    this.times[3 * i + 2] = slot.stampsNs[STAMP_INGEST];
    this.e2eUs[i] = e2eUs;
    this.late[i] = slot.late ? 1 : 0;
    const n = slot.payloadLength;
    this.payloadLength[i] = n;
    const at = i * limits.triggerPayloadBytesMax;
    for (let b = 0; b < n; b++) this.payload[at + b] = slot.payload[b];
    this.written++;
  }

  /**
   * Records a trigger the cascade held until the teacher answered or the budget ran out
   * (`cascade/cascade.ts`, off the hot path): as `push`, with who decided it, both classes, the
   * teacher's probability of its class (NaN without an answer) and whether it answered within the budget.
   */
  pushHeld(slot: FrameSlot, decidedBy: typeof HELD_STUDENT | typeof HELD_TEACHER, studentClass: number, teacherClass: number, teacherScore = Number.NaN, inTime = false): void {
    this.held.set(this.written, { by: decidedBy, student: studentClass, teacher: teacherClass, teacherScore, inTime });
    this.push(slot);
  }

  /** The pipeline switched to model `index` between frames: records pushed from now on name it. */
  modelSwitched(index: number): void {
    this.models.push({ from: this.written, index });
  }

  /** Returns the records pushed since the last drain, oldest first (allocates: off path). */
  drain(names: TriggerNames): TriggerEvent[] {
    this.skipOverwritten();
    const out: TriggerEvent[] = [];
    const named = names.models !== undefined && names.models.length > 1;
    for (; this.read < this.written; this.read++) {
      const event = this.event(this.read % this.capacity, names);
      if (named) event.model = names.models![this.modelAt(this.read)];
      if (this.held.size > 0) this.heldAt(this.read, event, names);
      out.push(event);
    }
    return out;
  }

  /** The model that decided the record at `position` (dropping switches before it). */
  private modelAt(position: number): number {
    while (this.models.length > 1 && this.models[1]!.from <= position) this.models.shift();
    return this.models[0]!.index;
  }

  /** Marks the records pushed since the last drain as read without building them; returns how many. */
  discard(): number {
    this.skipOverwritten();
    const n = this.written - this.read;
    this.read = this.written;
    this.held.clear();
    return n;
  }

  /** Adds the cascade's fields to the record at `position` when the cascade held it (and forgets them). */
  private heldAt(position: number, e: TriggerEvent, names: TriggerNames): void {
    const h = this.held.get(position);
    if (h === undefined) return;
    this.held.delete(position);
    const answered = h.teacher >= 0;
    e.cascade = {
      decidedBy: h.by === HELD_TEACHER ? 'teacher' : 'student',
      student: names.labels[h.student] ?? String(h.student),
      teacher: answered ? (names.labels[h.teacher] ?? String(h.teacher)) : null,
      teacherScore: answered ? Number(h.teacherScore.toPrecision(6)) : null,
      inTime: h.inTime,
    };
  }

  private event(i: number, names: TriggerNames): TriggerEvent {
    const cls = this.cls[i];
    const truth = this.truth[i];
    const sensorNs = this.times[3 * i];
    const at = i * limits.triggerPayloadBytesMax;
    return {
      kind: this.kind[i] === KIND_MISSED ? 'missed' : 'trigger',
      run: names.run,
      stream: names.streams[this.stream[i]] ?? String(this.stream[i]),
      seq: this.seq[i],
      id: frameIdString({ idHi: this.id[2 * i], idLo: this.id[2 * i + 1], idKnown: this.idKnown[i] === 1 }),
      classIndex: cls,
      class: names.labels[cls] ?? String(cls),
      truthIndex: truth,
      truth: truth >= 0 ? (names.labels[truth] ?? String(truth)) : null,
      score: this.score[i],
      probs: Array.from(this.probs.subarray(i * this.classes, (i + 1) * this.classes)),
      sensorNs: Number.isNaN(sensorNs) ? null : sensorNs,
      streamMs: names.streamTime === true && !Number.isNaN(sensorNs) ? sensorNs / 1e6 : null,
      dueNs: this.times[3 * i + 1],
      ingestNs: this.times[3 * i + 2],
      e2eUs: this.e2eUs[i],
      late: this.late[i] === 1,
      payload: names.describePayload(this.payload.subarray(at, at + this.payloadLength[i])),
    };
  }

  /** Records overwritten before they were read count as overflows; reading resumes at the oldest kept. */
  private skipOverwritten(): void {
    if (this.written - this.read > this.capacity) {
      this.overflows += this.written - this.read - this.capacity;
      this.read = this.written - this.capacity;
      for (const position of this.held.keys()) if (position < this.read) this.held.delete(position);
    }
  }
}
