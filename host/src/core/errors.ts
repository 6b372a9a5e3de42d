/**
 * Operating errors: faults of the world outside the process (bad input, a device that does
 * not answer, a config that does not validate). Each has a stable `code`, names the value at
 * fault and where it was found, and is counted by the pipeline; the daemon keeps running.
 * Broken invariants are not errors of this kind: they go through `assert()` and stop the
 * process.
 */
export type ErrorCode =
  | 'E_CONFIG'
  | 'E_CAPTURE_FORMAT'
  | 'E_FRAME_SHAPE'
  | 'E_FRAME_VALUE'
  | 'E_MODEL'
  | 'E_SOURCE'
  | 'E_SINK'
  | 'E_REQUEST'
  | 'E_DEVICE'
  | 'E_FIFO_OVERFLOW'
  | 'E_ALERT_DECODE'
  | 'E_FITS'
  | 'E_FILTER'
  | 'E_WAV'
  | 'E_LINK'
  | 'E_HLS_REPORT'
  | 'E_CALIBRATION';

/** Base of every operating error. `where` names the file, frame, field or endpoint. */
export class HairtriggerError extends Error {
  readonly code: ErrorCode;
  readonly where: string;

  constructor(code: ErrorCode, where: string, message: string, options?: { cause?: unknown }) {
    super(`${code} at ${where}: ${message}`, options);
    this.name = new.target.name;
    this.code = code;
    this.where = where;
  }
}

/** A configuration value that does not validate: names the field, the value and what is allowed. */
export class ConfigError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', where, message, options);
  }
}

/** A capture file that is not a hairtrigger capture, is truncated, or lacks a column. */
export class CaptureFormatError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_CAPTURE_FORMAT', where, message, options);
  }
}

/** A frame whose byte length or shape does not match the stream's declared shape. */
export class FrameShapeError extends HairtriggerError {
  constructor(where: string, message: string) {
    super('E_FRAME_SHAPE', where, message);
  }
}

/** A frame whose values cannot be classified (NaN, infinity). */
export class FrameValueError extends HairtriggerError {
  constructor(where: string, message: string) {
    super('E_FRAME_VALUE', where, message);
  }
}

/**
 * An alert packet that cannot be decoded: an unknown schema id, a truncated block, a corrupt
 * record, a bad container header. `where` names the file (or stream) and the record index;
 * `reason` is a stable sub-code for counting (`unknown-schema`, `truncated`, `corrupt`, ...).
 * Only that record is skipped.
 */
export class AlertDecodeError extends HairtriggerError {
  readonly reason: string;
  readonly file: string;
  readonly index: number;
  readonly schema: string | null;

  constructor(at: { file: string; index: number; schema: string | null }, reason: string, message: string, options?: { cause?: unknown }) {
    super('E_ALERT_DECODE', `${at.file} record ${at.index}${at.schema === null ? '' : ` (schema ${at.schema})`}`, `${reason}: ${message}`, options);
    this.reason = reason;
    this.file = at.file;
    this.index = at.index;
    this.schema = at.schema;
  }
}

/** A FITS stamp that cannot be read (bad header, unsupported BITPIX, truncated data). */
export class FitsError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_FITS', where, message, options);
  }
}

/** A filter that cannot be evaluated on one alert (a field the packet lacks, a type mismatch). */
export class FilterError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_FILTER', where, message, options);
  }
}

/**
 * A WAV file that cannot be read: not RIFF/WAVE, truncated, or a header that lies (a data
 * chunk longer than the file, a block align that is not channels x bytes, an unknown format
 * tag, no fmt chunk before the data). `where` names the file and the byte offset at fault.
 */
export class WavError extends HairtriggerError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, message: string) {
    super('E_WAV', `${file} byte ${offset}`, message);
    this.file = file;
    this.offset = offset;
  }
}

/** A model file that is not ONNX, or whose inputs/outputs do not fit the pipeline. */
export class ModelError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_MODEL', where, message, options);
  }
}

/** A source that failed (file vanished, generator misconfigured). */
export class SourceError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_SOURCE', where, message, options);
  }
}

/**
 * A packet of the serial link or websocket ingest that cannot be used (docs/serial-protocol.md).
 * `reason` is a stable sub-code for counting: `crc`, `framing` (a bad SLIP escape),
 * `truncated`, `oversize`, `length`, `overrun` (a SLIP frame past the packet bound), `version`, `type`,
 * `payload`, `kind`, `gap` (packets lost by sequence number).
 */
export class LinkError extends HairtriggerError {
  readonly reason: string;
  constructor(where: string, reason: string, message: string, options?: { cause?: unknown }) {
    super('E_LINK', where, `${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** A sink that failed to write (disk full, socket gone). */
export class SinkError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_SINK', where, message, options);
  }
}

/**
 * An FPGA device that refused to open (missing, wrong size, another firmware) or failed a job
 * (timeout, reset, corrupt output). `reason` is the driver's code (host/native/src/fpga_driver.h);
 * a failed job costs that frame only, and the next job tries the device again.
 */
export class DeviceError extends HairtriggerError {
  readonly reason: string;
  constructor(where: string, reason: string, message: string, options?: { cause?: unknown }) {
    super('E_DEVICE', where, `(${reason}) ${message}`, options);
    this.reason = reason;
  }
}

/**
 * Autonomous-mode events the FPGA device dropped because its event FIFO was full: the device
 * classified (and fired on) those frames, but the host never saw them. Counted once per lost
 * event; the host drains faster or the FIFO is too small for the burst.
 */
export class FifoOverflowError extends HairtriggerError {
  readonly lost: number;
  constructor(where: string, lost: number, message: string) {
    super('E_FIFO_OVERFLOW', where, message);
    this.lost = lost;
  }
}

/** A hostile or malformed HTTP/websocket request. */
export class RequestError extends HairtriggerError {
  readonly status: number;
  constructor(where: string, message: string, status = 400) {
    super('E_REQUEST', where, message);
    this.status = status;
  }
}

/** True for operating errors; false for everything else (which is a bug). */
export function isOperatingError(err: unknown): err is HairtriggerError {
  return err instanceof HairtriggerError;
}

/**
 * An HLS synthesis report (`*_csynth.xml` / `*_csynth.rpt`) that cannot be read: truncated,
 * not a csynth report, or a field that is missing or not a number. `where` names the file
 * and the field at fault.
 */
export class HlsReportError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_HLS_REPORT', where, message, options);
  }
}

/**
 * A calibration that cannot give the guarantee asked for: too few labelled examples of a class
 * for the requested rate (split-conformal needs n >= 1/alpha - 1), a class with no labelled
 * example, a calibration file that does not match the pipeline's model.
 */
export class CalibrationError extends HairtriggerError {
  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('E_CALIBRATION', where, message, options);
  }
}
