import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelCard } from './card.js';
import { modelView } from './model-view.js';

const ZOO = resolve(import.meta.dirname, '..', '..', '..', 'models', 'zoo');

describe('modelView', () => {
  // Every zoo card, read as JSON here (not through readModelCard) as the truth.
  for (const task of readdirSync(ZOO).sort()) {
    it(`${task}: the student's view lifts the card's figures`, () => {
      const json = JSON.parse(readFileSync(join(ZOO, task, 'card.json'), 'utf8'));
      const view = modelView(readModelCard(join(ZOO, task)), 'student');
      expect(view.name).toBe(`${json.task}/student`);
      expect(view.task).toBe(json.task);
      expect(view.labels).toEqual(json.labels);
      expect(view.params).toEqual({ teacher: json.teacher?.params ?? null, student: json.student.params });
      expect(view.precision).toBe(json.fixed.precision);
      expect(view.modelled).toEqual({ cycles: json.fpga.latencyCycles, clockMhz: json.fpga.clockMhz, us: expect.closeTo(json.fpga.latencyUs, 3) });
      expect(view.resources).toEqual({ dsp: json.fpga.dsp, weightStorageBits: json.fpga.weightStorageBits, iiCycles: json.fpga.ii, reuse: json.fpga.reuse });
      expect(view.accuracy.fixedAgreementTop1).toBe(json.fixed.agreementTop1);
      expect(view.accuracy.fixedMaxAbsLogitError).toBe(json.fixed.maxAbsLogitError);
      if (json.teacher !== null && json.teacher !== undefined) {
        expect(view.accuracy.teacher).toBe(json.teacher.accuracy);
        expect(view.accuracy.agreement).toBe(json.agreement);
      }
      if (json.student.accuracy !== undefined) expect(view.accuracy.student).toBe(json.student.accuracy);
      for (const v of Object.values(view.accuracy)) expect(Number.isFinite(v)).toBe(true);
      // The card as read: a card without a teacher (jets) reads as teacher null.
      expect(view.card).toEqual({ teacher: null, ...json });
      // JSON-safe: what the server sends is the view itself.
      expect(JSON.parse(JSON.stringify(view))).toEqual(view);
    });
  }

  it("says which of the pipeline's models it is, its size, its own parameters and the accuracy it is ranked by", () => {
    const sized = JSON.parse(readFileSync(join(ZOO, 'cells-bccd-w2x4', 'card.json'), 'utf8'));
    const onSim = modelView(readModelCard(join(ZOO, 'cells-bccd-w2x4')), 'student', { model: 'w2x4', primary: 'cells-bccd/student', inForce: true, backendKind: 'sim' });
    expect(onSim).toMatchObject({ name: 'cells-bccd/student', model: 'w2x4', primary: 'cells-bccd/student', inForce: true, variant: 'student', size: sized.size, modelParams: sized.student.params, modelAccuracy: sized.student.fixedAccuracyEmulated });
    // On onnx a student runs float: its float accuracy.
    expect(modelView(readModelCard(join(ZOO, 'cells-bccd-w2x4')), 'student', { model: 'w2x4', primary: 'p', inForce: true, backendKind: 'onnx' }).modelAccuracy).toBe(sized.student.accuracy);
    const shipped = JSON.parse(readFileSync(join(ZOO, 'cells-bccd', 'card.json'), 'utf8'));
    const teacher = modelView(readModelCard(join(ZOO, 'cells-bccd')), 'teacher', { model: 'teacher', primary: 'cells-bccd/student', inForce: true, backendKind: 'onnx' });
    expect(teacher).toMatchObject({ size: null, modelParams: shipped.teacher.params, modelAccuracy: shipped.teacher.accuracy });
    // Without `of`: the primary, in force.
    expect(modelView(readModelCard(join(ZOO, 'cells-bccd')), 'student')).toMatchObject({ model: 'cells-bccd/student', primary: 'cells-bccd/student', inForce: true, size: null });
  });

  it('the teacher has no firmware: float precision, no modelled time or resources', () => {
    const json = JSON.parse(readFileSync(join(ZOO, 'cells-bccd', 'card.json'), 'utf8'));
    const view = modelView(readModelCard(join(ZOO, 'cells-bccd')), 'teacher');
    expect(view.name).toBe('cells-bccd/teacher');
    expect(view).toMatchObject({ precision: 'float32', modelled: null, resources: null });
    expect(view.accuracy.teacher).toBe(json.teacher.accuracy);
  });
});
