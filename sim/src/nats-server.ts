import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';

/** A real `nats-server -js` a test or the bench started, on a free port with its own store folder. */
export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Kills the server (SIGKILL) and removes its store, unless `keepStore` (to restart it on the same store). */
  stop(o?: { keepStore?: boolean }): Promise<void>;
}

/** Whether Debian's nats-server is installed (`make test` installs it when missing). */
export function hasNatsServer(): boolean {
  return spawnSync('nats-server', ['--version']).status === 0;
}

/** A TCP port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Starts `nats-server -js -p PORT -sd TMPDIR` and resolves once it accepts clients (again on `at`'s port and store: a restart). */
export async function startNatsServer(at?: { port: number; storeDir: string }): Promise<NatsServer> {
  const port = at?.port ?? (await freePort());
  const storeDir = at?.storeDir ?? mkdtempSync(join(tmpdir(), 'ht-nats-'));
  const child: ChildProcess = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const url = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log}`);
    try {
      const nc = await connect({ servers: url, timeout: 500 });
      await nc.close();
      break;
    } catch (err) {
      if (i > 100) {
        child.kill('SIGKILL');
        throw new Error(`nats-server on ${url} did not accept clients: ${(err as Error).message}; ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    storeDir,
    async stop(o) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      if (o?.keepStore !== true) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** A client connection for the test's own publishing and reading. */
export function natsClient(server: NatsServer): Promise<NatsConnection> {
  return connect({ servers: server.url });
}

