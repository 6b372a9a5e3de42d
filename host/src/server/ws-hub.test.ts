import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createFakeView, fakeTrigger } from './testing.js';
import { createWsHub, WS_CLOSE_INTERNAL_ERROR, WS_CLOSE_TRY_AGAIN_LATER, type WsHubOptions, type WsMessage } from './ws-hub.js';

/** Just enough of a ws `WebSocket` for the hub: state, buffer level, send/close/terminate. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: WsMessage[] = [];
  closedWith: number | null = null;
  terminated = false;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as WsMessage);
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
    this.emit('close', code);
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
    this.emit('close', 1006);
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

const asWs = (s: FakeSocket) => s as unknown as WebSocket;

describe('createWsHub', () => {
  const onError = vi.fn();
  const opts: WsHubOptions = { clientsMax: 3, bufferedBytesMax: 1000, snapshotIntervalMs: 500, slowTicksMax: 4, onError };

  beforeEach(() => {
    vi.useFakeTimers();
    onError.mockReset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('uses one timer and one snapshot per tick for all clients', () => {
    const view = createFakeView();
    const snapshot = vi.spyOn(view, 'snapshot');
    const hub = createWsHub(view, opts);
    const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    sockets.forEach((s) => hub.admit(asWs(s)));
    expect(snapshot).toHaveBeenCalledTimes(3); // one hello each
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(opts.snapshotIntervalMs * 2);
    expect(snapshot).toHaveBeenCalledTimes(5);
    for (const s of sockets) expect(s.types()).toEqual(['hello', 'snapshot', 'snapshot']);
    hub.close();
  });

  it('subscribes to triggers only while clients are connected', () => {
    const view = createFakeView();
    const hub = createWsHub(view, opts);
    expect(view.listenerCount()).toBe(0);
    const a = new FakeSocket();
    hub.admit(asWs(a));
    expect(view.listenerCount()).toBe(1);
    view.emitTriggers([fakeTrigger(7)]);
    view.emitTriggers([]);
    expect(a.types()).toEqual(['hello', 'triggers']);
    a.close(1000);
    expect(view.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(hub.stats().clients).toBe(0);
  });

  it('refuses clients beyond clientsMax with 1013 and counts them', () => {
    const hub = createWsHub(createFakeView(), opts);
    const sockets = Array.from({ length: 4 }, () => new FakeSocket());
    sockets.forEach((s) => hub.admit(asWs(s)));
    expect(sockets.map((s) => s.closedWith)).toEqual([null, null, null, WS_CLOSE_TRY_AGAIN_LATER]);
    expect(sockets[3].sent).toEqual([]);
    expect(hub.stats()).toMatchObject({ clients: 3, clientsRefused: 1 });
    sockets[0].close(1000);
    const late = new FakeSocket();
    hub.admit(asWs(late));
    expect(late.closedWith).toBeNull();
    hub.close();
  });

  it('drops messages for a client whose buffer is over the bound, and only for that one', () => {
    const view = createFakeView();
    const hub = createWsHub(view, opts);
    const fast = new FakeSocket();
    const slow = new FakeSocket();
    hub.admit(asWs(fast));
    hub.admit(asWs(slow));
    slow.bufferedAmount = opts.bufferedBytesMax + 1;
    vi.advanceTimersByTime(opts.snapshotIntervalMs);
    view.emitTriggers([fakeTrigger(1)]);
    expect(fast.types()).toEqual(['hello', 'snapshot', 'triggers']);
    expect(slow.types()).toEqual(['hello']);
    expect(hub.stats().messagesDropped).toBe(2);
    slow.bufferedAmount = 0;
    vi.advanceTimersByTime(opts.snapshotIntervalMs);
    expect(slow.types()).toEqual(['hello', 'snapshot']);
    hub.close();
  });

  it('disconnects a client over the bound for slowTicksMax ticks in a row, and only that one', () => {
    const view = createFakeView();
    const hub = createWsHub(view, opts);
    const fast = new FakeSocket();
    const slow = new FakeSocket();
    const recovering = new FakeSocket();
    [fast, slow, recovering].forEach((s) => hub.admit(asWs(s)));
    slow.bufferedAmount = opts.bufferedBytesMax + 1;
    recovering.bufferedAmount = opts.bufferedBytesMax + 1;
    vi.advanceTimersByTime(opts.snapshotIntervalMs * (opts.slowTicksMax - 1));
    expect(slow.terminated).toBe(false);
    // Catching up once resets its count: it gets another slowTicksMax ticks.
    recovering.bufferedAmount = 0;
    vi.advanceTimersByTime(opts.snapshotIntervalMs);
    recovering.bufferedAmount = opts.bufferedBytesMax + 1;
    expect(slow.terminated).toBe(true);
    expect(hub.stats()).toMatchObject({ clients: 2, slowClientsDropped: 1 });
    vi.advanceTimersByTime(opts.snapshotIntervalMs * (opts.slowTicksMax - 1));
    expect(recovering.terminated).toBe(false);
    vi.advanceTimersByTime(opts.snapshotIntervalMs);
    expect(recovering.terminated).toBe(true);
    expect(fast.terminated).toBe(false);
    expect(fast.types().filter((t) => t === 'snapshot')).toHaveLength(2 * opts.slowTicksMax);
    expect(hub.stats()).toMatchObject({ clients: 1, slowClientsDropped: 2 });
    hub.close();
  });

  it('survives a view that throws: skips the tick, reports it, keeps the clients', () => {
    const view = createFakeView();
    const hub = createWsHub(view, opts);
    const a = new FakeSocket();
    hub.admit(asWs(a));
    view.snapshot = () => {
      throw new Error('boom');
    };
    vi.advanceTimersByTime(opts.snapshotIntervalMs);
    expect(hub.stats()).toMatchObject({ clients: 1, snapshotFailures: 1 });
    expect(onError).toHaveBeenCalledWith(expect.any(Error), 'ws snapshot timer');
    const b = new FakeSocket();
    hub.admit(asWs(b));
    expect(b.closedWith).toBe(WS_CLOSE_INTERNAL_ERROR);
    hub.close();
  });

  it('close() terminates every client, stops the timer, unsubscribes and refuses newcomers', () => {
    const view = createFakeView();
    const hub = createWsHub(view, opts);
    const sockets = [new FakeSocket(), new FakeSocket()];
    sockets.forEach((s) => hub.admit(asWs(s)));
    hub.close();
    expect(sockets.every((s) => s.terminated)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(view.listenerCount()).toBe(0);
    const late = new FakeSocket();
    hub.admit(asWs(late));
    expect(late.closedWith).toBe(WS_CLOSE_TRY_AGAIN_LATER);
  });
});
