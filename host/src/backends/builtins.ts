import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, ModelError } from '../core/errors.js';
import { loadFpgaBackend } from './fpga.js';
import { loadOnnxBackend } from './onnx.js';
import { backends, type BackendContext } from './registry.js';
import { loadSimBackend } from './sim.js';

/** Where `make firmware` puts the projects of the zoo's models (relative to the repository). */
export const FIRMWARE_DIR = 'hls/build';

/** C identifier of a zoo model's firmware: `cells-bccd` + `student` -> `cells_bccd_student`. */
export function firmwareName(task: string, variant: string): string {
  return `${task}_${variant}`.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The firmware name of a model card's variant: one size of a task's students (card `size`)
 * has its own, `cells-bccd` size `w4x8` -> `cells_bccd_w4x8_student`. */
export function cardFirmwareName(card: { task: string; size: string | null }, variant: string): string {
  return firmwareName(card.size === null ? card.task : `${card.task}-${card.size}`, variant);
}

backends.register({
  kind: 'onnx',
  summary: 'the float model on onnxruntime (the reference)',
  schema: z.object({ kind: z.literal('onnx') }),
  async create(_c, { cfg, ref }) {
    if (cfg.firmware !== undefined) throw new ConfigError('config: firmware', `"${cfg.firmware}" is set but backend is onnx; firmware is for backends sim and fpga`);
    if (cfg.device !== undefined) throw new ConfigError('config: device', `"${cfg.device}" is set but backend is onnx; device is for backend fpga`);
    if (cfg.sim !== undefined) throw new ConfigError('config: sim', 'is set but backend is onnx; sim is for backend sim');
    return loadOnnxBackend(ref);
  },
});

backends.register({
  kind: 'sim',
  summary: 'the compiled firmware on the CPU, bit-exact (make firmware builds it)',
  schema: z.object({ kind: z.literal('sim') }),
  async create(_c, ctx) {
    if (ctx.cfg.device !== undefined) throw new ConfigError('config: device', `"${ctx.cfg.device}" is set but backend is sim; device is for backend fpga`);
    const project = firmwareProject(ctx);
    const lib = project.endsWith('.so') ? project : join(project, `lib${basename(project)}.so`);
    // An audio front end's windows overlap (one new frame a hop): the sliding-window stream.
    const kind = 'kind' in ctx.card.preprocessing ? ctx.card.preprocessing.kind : null;
    const sliding = (kind === 'mfcc' || kind === 'logmel') && ctx.cfg.sim?.slidingWindows !== false;
    return loadSimBackend({ ...ctx.ref, path: lib, sourceSha256: onnxSha256(ctx.ref.path), slidingWindows: sliding });
  },
});

backends.register({
  kind: 'fpga',
  summary: 'the firmware on a device (or the device emulator) over the register protocol',
  schema: z.object({ kind: z.literal('fpga') }),
  async create(_c, ctx) {
    const { cfg } = ctx;
    if (cfg.device === undefined) throw new ConfigError('config: device', 'missing: backend fpga needs device (the register region, e.g. /dev/xdma0_user)');
    if (cfg.sim !== undefined) throw new ConfigError('config: sim', 'is set but backend is fpga; sim is for backend sim (the device runs every window whole)');
    const project = firmwareProject(ctx);
    const regmap = project.endsWith('.json') ? project : join(project, 'regmap.json');
    return loadFpgaBackend({ ...ctx.ref, path: regmap, device: ctx.at(cfg.device), sourceSha256: onnxSha256(ctx.ref.path), spinsMax: cfg.fpga?.spinsMax,
      regionOffsetBytes: cfg.fpga?.regionOffsetBytes, timers: ctx.timers });
  },
});

/**
 * The firmware project `firmware` names (a .so, regmap.json, or a project folder), by default
 * `make firmware`'s build of the variant. It must have been compiled from the card's ONNX
 * file: the backends check its hash.
 */
function firmwareProject({ cfg, card, at, firmwareDir }: BackendContext): string {
  return cfg.firmware !== undefined ? at(cfg.firmware) : join(firmwareDir, cardFirmwareName(card, cfg.variant));
}

function onnxSha256(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (err) {
    throw new ModelError(path, `cannot read model: ${(err as Error).message}`, { cause: err });
  }
}
