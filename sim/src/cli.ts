import { resolve } from 'node:path';
import { registerCommands } from '../../host/src/cli/commands.js';
import { ConfigError } from '../../host/src/core/errors.js';

// The device emulator's command; bin/hairtrigger.js loads this module, host/ never imports sim/.
registerCommands((program, ctx) => {
  program
    .command('emulate-fpga')
    .description('serve the FPGA register protocol from a /dev/shm file, the compiled firmware as the device (docs/fpga-protocol.md); Ctrl-C stops')
    .requiredOption('-m, --model <dir>', 'compiled firmware project (hls/build/<name>: regmap.json, lib<name>.so)')
    .requiredOption('--device <path>', 'region file to serve, e.g. /dev/shm/ht-jets')
    .option('--clock-mhz <f>', "override the map's kernel clock", ctx.num('clock-mhz'))
    .option('--autonomous', 'start in autonomous mode (MODE = 1), taking frames from --replay', false)
    .option('--replay <capture>', 'capture whose frames the device takes in autonomous mode')
    .option('--rate-hz <r>', 'replay frame rate (default: as fast as the device goes)', ctx.num('rate-hz'))
    .option('--loop', 'loop the replay', false)
    .option('--card <dir>', 'model card for the replay preprocessing (default: the zoo card of the firmware name)')
    .option('--fault <spec>', 'never-done, done-late:US, late-once:US@N, corrupt-output:N, reset-after:N, wrong-magic, wrong-hash or fifo-overflow')
    .option('--cpu <n>', 'pin the device thread (it spins) to this CPU, one the daemon\'s driver does not poll from (e.g. taskset -c 1 for the daemon, --cpu 0 here)', ctx.num('cpu'))
    .action(async (o: { model: string; device: string; clockMhz?: number; autonomous: boolean; replay?: string; rateHz?: number; loop: boolean; card?: string; fault?: string; cpu?: number }) => {
      // Loaded on use: the emulator's addon is not the daemon's.
      const { runEmulateFpga } = await import('./emulate-fpga.js');
      await runEmulateFpga({ ...o, zooDir: resolve(ctx.repoRoot, 'models', 'zoo') }, (line) => process.stderr.write(line + '\n'));
    });
});

// The synthetic light-curve splits of the transient classifier (sim/src/lightcurves).
registerCommands((program, ctx) => {
  program
    .command('lightcurves')
    .description('write synthetic alert light curves as grid features + labels (npy train/val/test and meta.json) for models/train')
    .requiredOption('--out <dir>', 'output folder, e.g. models/data/alerts-transient')
    .option('--seed <n>', 'generator seed', ctx.num('seed'), 1)
    .option('--scale <f>', 'multiply every split size by f (e.g. 0.1 for a quick run)', ctx.num('scale'), 1)
    .option('--alerts <dir>', 'also write the grids of the real packets under dir (real_{ztf,rubin}_x.npy), e.g. ../shared/data/alerts')
    .action(async (o: { out: string; seed: number; scale: number; alerts?: string }) => {
      const { writeLightCurveDataset, LIGHTCURVE_SPLIT_SIZES } = await import('./lightcurves/dataset.js');
      if (!Number.isSafeInteger(o.seed) || !(o.scale > 0)) throw new ConfigError('--seed/--scale', `${o.seed} must be an integer and ${o.scale} positive`);
      const sizes = { train: 0, val: 0, test: 0 };
      for (const k of ['train', 'val', 'test'] as const) sizes[k] = Math.max(7, Math.round(LIGHTCURVE_SPLIT_SIZES[k] * o.scale));
      const s = writeLightCurveDataset(o.out, o.seed, sizes);
      process.stdout.write(`${s.out}: ${JSON.stringify(s.dataset)} objects, surveys ${JSON.stringify(s.perSurvey)}, seed ${o.seed}\n`);
      if (o.alerts !== undefined) {
        const { writeRealGrids } = await import('./lightcurves/real.js');
        process.stdout.write(`${o.out}: real packets ${JSON.stringify(writeRealGrids(o.alerts, o.out))}\n`);
      }
    });
});

// Virtual serial devices over a pty (sim/src/serial, docs/serial-protocol.md).
registerCommands((program, ctx) => {
  program
    .command('sim-sensor')
    .description('stream a capture (.arrows) as data-frame packets over a serial device or pty (docs/serial-protocol.md)')
    .requiredOption('--device <path>', 'serial device or pty, e.g. the link socat made')
    .requiredOption('--capture <file>', 'capture to stream, e.g. sim/recordings/cells-lymphocyte-1k.arrows')
    .option('--rate-hz <r>', 'frames per second', ctx.num('rate-hz'), 500)
    .option('--frames <n>', 'frames to send (the capture loops); default one pass', ctx.num('frames'))
    .option('--corrupt-frame <i>', 'flip one byte in the packet of frame i', ctx.num('corrupt-frame'))
    .option('--baud-rate <n>', 'baud rate', ctx.num('baud-rate'))
    .option('--stay', 'keep the device open after the last frame until SIGINT/SIGTERM', false)
    .action(async (o: { device: string; capture: string; rateHz: number; frames?: number; corruptFrame?: number; baudRate?: number; stay: boolean }) => {
      const { runSimSensor } = await import('./serial/devices.js');
      const hold = o.stay ? new Promise<void>((resolve) => { for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve()); }) : undefined;
      await runSimSensor({ ...o, hold }, (line) => process.stderr.write(line + '\n'));
    });
  program
    .command('sim-sorter')
    .description('take trigger commands over a serial device or pty, acknowledge each, record their arrival as JSON lines; Ctrl-C stops')
    .requiredOption('--device <path>', 'serial device or pty')
    .requiredOption('--out <file>', 'JSON lines of the commands acted on (frameSeq, classIndex, score, id, linkSeq, arrivalNs)')
    .option('--baud-rate <n>', 'baud rate', ctx.num('baud-rate'))
    .action(async (o: { device: string; out: string; baudRate?: number }) => {
      const { startSimSorter } = await import('./serial/devices.js');
      const sorter = startSimSorter(o, (line) => process.stderr.write(line + '\n'));
      await new Promise<void>((resolve) => {
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
      });
      await sorter.stop();
      process.stderr.write(`sim-sorter: ${JSON.stringify(sorter.counts())}\n`);
    });
});
