import { SerialPort, type SerialPortMock } from 'serialport';
import { z } from 'zod';
import { limits } from '../core/limits.js';
import type { TimerScheduler } from '../sources/source.js';

/** The serial line options a `serial` source or sink takes (docs/serial-protocol.md "Line"). */
export const serialLineSchema = z.object({
  /** The device: /dev/ttyUSB0, /dev/ttyACM0, a socat pty link. */
  path: z.string().min(1),
  baudRate: z.number().int().min(50).max(12_000_000).default(921_600),
  /** Flow control: none, hardware (RTS/CTS) or software (XON/XOFF; SLIP does not escape 0x11/0x13, so only for links that never carry them raw). */
  flowControl: z.enum(['none', 'rtscts', 'xon']).default('none'),
  /** Reconnect back-off: first delay, doubled per failed attempt up to the max. */
  reconnectMinMs: z.number().int().min(1).max(limits.serialReconnectMaxMs).default(100),
  reconnectMaxMs: z.number().int().min(1).max(limits.serialReconnectMaxMs).default(5_000),
  /** The host writes a heartbeat this often (0: never); a write is what reveals a vanished pty or USB device. */
  heartbeatMs: z.number().int().min(0).max(60_000).default(1_000),
  /** A line that has spoken since it opened and then is silent this long is reopened (0: never). */
  silenceMs: z.number().int().min(0).max(600_000).default(3_000),
});
export type SerialLineConfig = z.output<typeof serialLineSchema>;

/** What a serial line reports to its owner. */
export interface SerialLineEvents {
  onData(chunk: Uint8Array): void;
  /** The line is open (first time, or again after it vanished). */
  onOpen(reopened: boolean): void;
  log(line: string): void;
}

/** Opens a port; injected so the reconnect loop is tested against a mock binding. */
export type PortFactory = (cfg: SerialLineConfig) => SerialPort | SerialPortMock;

/** The real ports (serialport's binding for this platform). */
export const realPorts: PortFactory = (cfg) => new SerialPort({ path: cfg.path, baudRate: cfg.baudRate, rtscts: cfg.flowControl === 'rtscts', xon: cfg.flowControl === 'xon', xoff: cfg.flowControl === 'xon', autoOpen: false });

/**
 * One serial line that stays open: it opens the device, and whenever it vanishes (a close
 * with `disconnected`, an error, a failed open) it retries with exponential back-off, saying
 * so ("serial /dev/pts/3 gone, retrying in 200 ms"). Known serialport pitfalls, handled:
 * - data arrives in chunks cut anywhere and sometimes held back (node-serialport issues
 *   #1319, #2677, #1295): the owner reassembles from bytes (link/slip.ts), never from events;
 * - an unplugged device may give no `close` until something is written (#2043, #2351): the
 *   owner writes heartbeats, and a line silent for `silenceMs` after it spoke is reopened;
 * - a reconnect that silently stops (an open whose callback never comes, an error between
 *   two states): one watchdog timer, re-armed on every tick, restarts the loop whenever the
 *   line is neither open nor opening nor waiting to retry, and gives up an open that has not
 *   completed within `serialOpenTimeoutMs`;
 * - `drain` resolving late: writes never wait for it; the queue is bounded by the port's
 *   `writableLength` (`serialWriteQueueBytesMax`) and a write past it is refused and counted.
 */
export class SerialLine {
  reconnects = 0;
  writesRefused = 0;
  private port: SerialPort | SerialPortMock | null = null;
  private openingSinceTick = 0;
  private state: 'closed' | 'opening' | 'open' | 'waiting' | 'stopped' = 'closed';
  private attempt = 0;
  private retryTimer: unknown = null;
  private watchdog: unknown = null;
  private openedOnce = false;
  private lastDataTick = 0;
  private heardSinceOpen = false;
  private ticks = 0;

  constructor(
    readonly cfg: SerialLineConfig,
    private readonly events: SerialLineEvents,
    private readonly timers: TimerScheduler,
    private readonly ports: PortFactory = realPorts,
  ) {}

  /** Starts the open/reconnect loop. */
  start(): void {
    this.open();
    this.tick();
  }

  /** True while the device is open. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Bytes written but not yet handed to the device (0 when closed). */
  get writableLength(): number {
    return this.port?.writableLength ?? 0;
  }

  /** Writes bytes (whole SLIP frames); false (counted) when the line is closed or its queue is full. Never waits for `drain`. */
  write(bytes: Uint8Array): boolean {
    const port = this.port;
    if (this.state !== 'open' || port === null || port.writableLength + bytes.length > limits.serialWriteQueueBytesMax) {
      this.writesRefused++;
      return false;
    }
    port.write(bytes);
    return true;
  }

  /** Closes the line and stops retrying. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.watchdog !== null) this.timers.clearTimeout(this.watchdog);
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  private open(): void {
    if (this.state === 'stopped') return;
    this.state = 'opening';
    this.openingSinceTick = this.ticks;
    let port: SerialPort | SerialPortMock;
    try {
      port = this.ports(this.cfg);
    } catch (err) {
      this.gone((err as Error).message);
      return;
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      this.lastDataTick = this.ticks;
      this.heardSinceOpen = true;
      this.events.onData(chunk);
    });
    port.on('error', (err: Error) => this.lost(port, err.message));
    port.on('close', (err: Error | null) => this.lost(port, err?.message ?? 'closed'));
    port.open((err) => {
      if (this.port !== port || this.state !== 'opening') return;
      if (err) return this.lost(port, err.message);
      this.state = 'open';
      this.attempt = 0;
      this.heardSinceOpen = false;
      this.lastDataTick = this.ticks;
      const reopened = this.openedOnce;
      if (reopened) this.reconnects++;
      this.openedOnce = true;
      this.events.log(`serial ${this.cfg.path} open at ${this.cfg.baudRate} baud${reopened ? ` (reconnect ${this.reconnects})` : ''}`);
      this.events.onOpen(reopened);
    });
  }

  /** The port failed or closed: drop it and retry (once per port). */
  private lost(port: SerialPort | SerialPortMock, why: string): void {
    if (this.port !== port || this.state === 'stopped') return;
    this.port = null;
    port.removeAllListeners('data');
    if (port.isOpen) port.close(() => {});
    port.on('error', () => {}); // a late error of the dropped port must not crash the process
    this.gone(why);
  }

  private gone(why: string): void {
    if (this.state === 'stopped') return;
    const delayMs = Math.min(this.cfg.reconnectMaxMs, this.cfg.reconnectMinMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    this.state = 'waiting';
    this.events.log(`serial ${this.cfg.path} gone (${why}), retrying in ${delayMs} ms`);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delayMs);
  }

  /** The watchdog: restarts a loop that stopped, reopens a line gone silent. */
  private readonly tick = (): void => {
    if (this.state === 'stopped') return;
    this.ticks++;
    if (this.state === 'closed' || (this.state === 'waiting' && this.retryTimer === null)) this.open();
    else if (this.state === 'opening' && (this.ticks - this.openingSinceTick) * limits.serialWatchdogMs > limits.serialOpenTimeoutMs) {
      if (this.port !== null) this.lost(this.port, `open did not complete within ${limits.serialOpenTimeoutMs} ms`);
      else this.gone('open did not start');
    }
    const silentTicks = Math.ceil(this.cfg.silenceMs / limits.serialWatchdogMs);
    if (this.state === 'open' && this.heardSinceOpen && silentTicks > 0 && this.ticks - this.lastDataTick > silentTicks) this.lost(this.port!, `silent for ${this.cfg.silenceMs} ms`);
    this.watchdog = this.timers.setTimeout(this.tick, limits.serialWatchdogMs);
  };
}
