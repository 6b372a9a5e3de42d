import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameDetails, type FrameDetailContext } from '../../codecs/frame-detail.js';
import { isOperatingError } from '../../core/errors.js';
import { FrameRing } from '../../core/frame.js';
import { fakeTrigger } from '../../server/testing.js';
import { cutoutsOf, lightCurveOf } from './alert-detail.js';
import { frameConfluent } from './avro/confluent.js';
import { readAlertFile } from './avro/container.js';
import { loadAlertFile } from './sources/load.js';
import './index.js';

const ALERTS = resolve(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'alerts');
const FILES = ['ztf-3.3-2020-01/1095578115815010001.avro', 'rubin-9.0-2025-09/169298432598474793_169298432598474793.avro'].map((f) => join(ALERTS, f));

const context = (decoder: FrameDetailContext['decoder']): FrameDetailContext => ({ spec: { stream: 'alerts', shape: [], dtype: 'uint8' }, decoder, preprocessing: { kind: 'lightcurve' }, at: (p) => p });

/** What the view of `file`'s first alert is, from the container reader's decoding of it
 * (the views' pixels and magnitudes are checked against astropy and Avro's Python reader in
 * test/integration/trigger-details.test.ts). */
function expected(file: string) {
  const a = readAlertFile(file).alerts[0]!;
  return { alert: a, view: { kind: 'alert', objectId: a.objectId, cutouts: cutoutsOf(a), lightcurve: lightCurveOf(a) } };
}

describe('the alerts trigger view', () => {
  it('avro: keeps the container record and its writer schema off the slot; the kept copy decodes to the alert', () => {
    const detail = frameDetails.find(context({ kind: 'avro' }))!;
    expect(detail.keeps).toBe('raw');
    for (const file of FILES) {
      const loaded = loadAlertFile(file);
      const slot = new FrameRing(1, 1, 1).acquire();
      slot.raw = loaded.base[0]!;
      slot.rawOffset = loaded.offset[0]!;
      slot.rawLength = loaded.length[0]!;
      const schema = detail.context!(slot);
      expect(schema).not.toBeNull();
      const kept = Uint8Array.from(slot.raw.subarray(slot.rawOffset, slot.rawOffset + slot.rawLength));
      const { alert, view } = expected(file);
      expect(alert.cutouts.science).not.toBeNull();
      expect(detail.view(kept, schema, fakeTrigger(0))).toEqual(view);
      // Without the schema the record cannot be read: an operating error (the view says why).
      const err = (() => { try { detail.view(kept, null, fakeTrigger(0)); } catch (e) { return e; } })();
      expect(isOperatingError(err) && err.code === 'E_ALERT_DECODE').toBe(true);
    }
  });

  it('confluent: the kept message decodes with the schema folder the decoder names; a damaged one is an AlertDecodeError', () => {
    const detail = frameDetails.find(context({ kind: 'confluent', rubinSchemas: join(ALERTS, 'rubin-schemas'), ztfSchemaId: 402 }))!;
    expect(detail.context).toBeUndefined();
    // Rubin's own sample, written with the official 9.0 schema, registered as id 900 (major * 100 + minor).
    const { alert, view } = expected(join(ALERTS, 'rubin-schemas', '9', '0', 'sample_data', 'fakeAlert.avro'));
    expect(alert.schema.name).toBe('lsst.v9_0.alert');
    expect(view.lightcurve.map((b) => b.mjd.length)).toEqual([3]); // no stamps in the sample
    const message = frameConfluent(900, alert.bytes);
    expect(detail.view(message, null, fakeTrigger(0))).toEqual(view);
    const err = (() => { try { detail.view(message.subarray(0, 100), null, fakeTrigger(0)); } catch (e) { return e; } })();
    expect(isOperatingError(err) && err.code === 'E_ALERT_DECODE').toBe(true);
  });
});
