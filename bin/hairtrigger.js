#!/usr/bin/env node
// Entry point: runs the compiled CLI (`make build` / `npm run build` writes build/). The
// composition root: sim/'s commands (the device emulator) register themselves first, so the
// host's code never imports sim/.
import '../build/sim/src/cli.js';
import { main } from '../build/host/src/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`hairtrigger: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
