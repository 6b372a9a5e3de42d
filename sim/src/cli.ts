import { resolve } from 'node:path';
import { registerCommands } from '../../host/src/cli/commands.js';

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
    .action(async (o: { model: string; device: string; clockMhz?: number; autonomous: boolean; replay?: string; rateHz?: number; loop: boolean; card?: string; fault?: string }) => {
      // Loaded on use: the emulator's addon is not the daemon's.
      const { runEmulateFpga } = await import('./emulate-fpga.js');
      await runEmulateFpga({ ...o, zooDir: resolve(ctx.repoRoot, 'models', 'zoo') }, (line) => process.stderr.write(line + '\n'));
    });
});
