import { MJD_TO_JD_DAYS, rubinPoints, toLightCurvePoints, ztfPoints } from './points.js';
import type { AlertSchemaInfo, AlertView, Cutouts, LightCurvePoints, Survey } from './types.js';

/**
 * Survey-neutral views of decoded alert packets. The record is decoded once (by avsc); a view
 * reads its fields on demand and builds the light curve at the first `points` read.
 *
 * Layouts: ZTF 3.x `ztf.alert` and 4.02 have the fields at the top level (`candid`,
 * `objectId`, `candidate`, `prv_candidates`, `cutoutScience` = {fileName, stampData}); Fink's
 * Spark export (`topLevelRecord`) is the same layout with every field made nullable and, for
 * some files, Fink's own columns added beside them, so it needs no unwrapping. Rubin (9.0 to
 * 11.0, and Fink's 9.0 `topLevelRecord`) has `diaSourceId`, `diaSource`, `prvDiaSources`,
 * `prvDiaForcedSources`, `diaObject` and cutouts as bytes.
 */

type Rec = Record<string, unknown>;

/** Walks `segments` from `at`: undefined when a key is absent, null when a value on the way is null. */
function walk(at: unknown, segments: readonly string[], from: number): unknown {
  let cur = at;
  for (let i = from; i < segments.length; i++) {
    if (cur === null) return null;
    if (typeof cur !== 'object' || cur === undefined) return undefined;
    const key = segments[i];
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Rec)[key];
  }
  return cur;
}

/** Shared by every survey: the fields and the lazily built light curve. */
abstract class BaseView implements AlertView {
  abstract readonly survey: Survey;
  abstract readonly id: bigint;
  abstract readonly objectId: string;
  abstract readonly jd: number;
  abstract readonly cutouts: Cutouts;
  /** The nested record a bare field name falls back to (`candidate`, `diaSource`). */
  protected abstract readonly inner: string | null;
  private built: LightCurvePoints | null = null;

  constructor(
    readonly value: Rec,
    readonly bytes: Uint8Array,
    readonly schema: AlertSchemaInfo,
    readonly source: string,
    readonly index: number,
  ) {}

  get points(): LightCurvePoints {
    this.built ??= this.buildPoints();
    return this.built;
  }

  protected abstract buildPoints(): LightCurvePoints;

  /**
   * A field by dotted path. The first segment is looked up at the top level; when the top
   * level has no such field, in the survey's triggering record (ZTF `candidate`, Rubin
   * `diaSource`), so `ndethist` means `candidate.ndethist` and `snr` `diaSource.snr`. Numeric
   * segments index arrays (`prv_candidates.0.jd`). Undefined when absent, null when the value
   * or a record on the way is null.
   */
  field(path: string): unknown {
    const segments = path.split('.');
    if (Object.hasOwn(this.value, segments[0]) || this.inner === null) return walk(this.value, segments, 0);
    return walk(this.value[this.inner], segments, 0);
  }
}

/** The bytes of a ZTF cutout record ({fileName, stampData}), or null. */
function ztfStamp(cutout: unknown): Uint8Array | null {
  return cutout == null ? null : (((cutout as Rec).stampData as Uint8Array | null) ?? null);
}

class ZtfView extends BaseView {
  readonly survey = 'ztf' as const;
  protected readonly inner = 'candidate';

  get id(): bigint {
    return (this.value.candid ?? (this.value.candidate as Rec | null)?.candid ?? -1n) as bigint;
  }

  get objectId(): string {
    return (this.value.objectId as string | null) ?? '';
  }

  get jd(): number {
    return ((this.value.candidate as Rec | null)?.jd as number | null) ?? Number.NaN;
  }

  get cutouts(): Cutouts {
    const v = this.value;
    return { science: ztfStamp(v.cutoutScience), template: ztfStamp(v.cutoutTemplate), difference: ztfStamp(v.cutoutDifference) };
  }

  protected buildPoints(): LightCurvePoints {
    return ztfPoints(this.value.candidate as never, this.value.prv_candidates as never);
  }
}

class RubinView extends BaseView {
  readonly survey = 'rubin' as const;
  protected readonly inner = 'diaSource';

  private get dia(): Rec | null {
    return (this.value.diaSource as Rec | null) ?? null;
  }

  get id(): bigint {
    return (this.value.diaSourceId ?? this.dia?.diaSourceId ?? -1n) as bigint;
  }

  /** diaObjectId (from diaSource, else diaObject), else ssObjectId for a solar-system source. */
  get objectId(): string {
    const dia = this.dia;
    const id = dia?.diaObjectId ?? (this.value.diaObject as Rec | null)?.diaObjectId ?? dia?.ssObjectId ?? null;
    return id === null ? '' : String(id);
  }

  get jd(): number {
    const mjd = this.dia?.midpointMjdTai as number | null | undefined;
    return mjd == null ? Number.NaN : mjd + MJD_TO_JD_DAYS;
  }

  get cutouts(): Cutouts {
    const v = this.value;
    return {
      science: (v.cutoutScience as Uint8Array | null) ?? null,
      template: (v.cutoutTemplate as Uint8Array | null) ?? null,
      difference: (v.cutoutDifference as Uint8Array | null) ?? null,
    };
  }

  protected buildPoints(): LightCurvePoints {
    return rubinPoints(this.dia as never, this.value.prvDiaSources as never, (this.value.prvDiaForcedSources ?? null) as never);
  }
}

/** A record of a survey this module does not know: fields only (id -1, no cutouts, no points). */
class OtherView extends BaseView {
  readonly survey = 'other' as const;
  protected readonly inner = null;
  readonly id = -1n;
  readonly objectId = '';
  readonly jd = Number.NaN;
  readonly cutouts: Cutouts = { science: null, template: null, difference: null };

  protected buildPoints(): LightCurvePoints {
    return toLightCurvePoints([]);
  }
}

/**
 * The view of one decoded record. `value` is the avsc record (longs bigint, bytes views into
 * `bytes`' buffer); `bytes` the record's own encoding; `source` and `index` name where it came
 * from. Missing ids read as -1n, a missing jd as NaN, a missing objectId as ''.
 */
export function alertView(value: unknown, bytes: Uint8Array, schema: AlertSchemaInfo, survey: Survey, source: string, index: number): AlertView {
  const rec = value as Rec;
  if (survey === 'ztf') return new ZtfView(rec, bytes, schema, source, index);
  if (survey === 'rubin') return new RubinView(rec, bytes, schema, source, index);
  return new OtherView(rec, bytes, schema, source, index);
}
