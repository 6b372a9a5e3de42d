/**
 * The real thing for the serial and websocket tests and bench: socat pty pairs, the hairtrigger CLI (daemon, virtual
 * sensor and sorter) as child processes, and helpers to wait on their output. Every process
 * started here is stopped by `stopAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The repository root (this file is sim/src/serial/rig.ts, or its build under build/). */
const REPO = [resolve(import.meta.dirname, '..', '..', '..'), resolve(import.meta.dirname, '..', '..', '..', '..')].find((d) => existsSync(join(d, 'bin', 'hairtrigger.js')))!;
const ZOO = join(REPO, 'models', 'zoo');

const BIN = join(REPO, 'bin', 'hairtrigger.js');

/** A started child and what it printed so far. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

const started: ChildProcess[] = [];

/** Starts `cmd args` and keeps its output. */
export function start(cmd: string, args: string[]): Proc {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Starts the hairtrigger CLI. */
export function cli(args: string[]): Proc {
  return start(process.execPath, [BIN, ...args]);
}

/** A socat pty pair: `a` for the host, `b` for the device; resolves once both links exist. */
export async function ptyPair(a: string, b: string): Promise<Proc> {
  const p = start('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await until(() => existsSync(a) && existsSync(b), `socat links ${a} and ${b}`);
  return p;
}

/** Polls `cond` every 20 ms until it holds; fails naming `what` (a function: the state then) after `timeoutMs` (generous: a loaded machine). */
export async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lines of a JSON-lines file (none when it does not exist yet). */
export function jsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l) as T);
}

/** A TCP port nobody listens on now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends `signal` and waits for the exit. */
export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** Kills every child still running (a failed test leaves none behind). */
export function stopAll(): void {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Writes a daemon config for the cells-lymphocyte student on the simulator with the given
 * `source` (YAML flow mapping, without the frame declaration) and `sinks` (YAML block lines),
 * the trigger log in `dir`, the HTTP server on `port` (`trigger`: its targets and threshold); returns its path.
 */
export function linkDaemonConfig(dir: string, source: string, sinks: string[], port: number, trigger = { targets: '[B]', threshold: 0.6 }): string {
  const path = join(dir, 'daemon.yaml');
  const frames = 'stream: cells-lymphocyte, shape: [48, 48, 1], dtype: uint8, labels: [B, T4, T8], queue: { policy: drop-newest }';
  writeFileSync(
    path,
    `pipeline: cells-lymphocyte
model: ${join(ZOO, 'cells-lymphocyte')}
variant: student
backend: sim
budgetUs: 60000000
source: { ${source}, ${frames} }
trigger: { targets: ${trigger.targets}, threshold: ${trigger.threshold}, holdoffUs: 0, maxRatePerS: 1000000, burst: 64 }
sinks:
  jsonl: ${join(dir, 'triggers.jsonl')}
${sinks.map((l) => `  ${l}\n`).join('')}server: { port: ${port} }
`,
  );
  return path;
}

/** The daemon's trigger records (`kind: trigger`) of every part of its run in `dir`, in order. */
export function daemonTriggers<T extends { kind: string }>(dir: string): T[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('triggers.') && f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => jsonLines<T>(join(dir, f)))
    .filter((t) => t.kind === 'trigger');
}
