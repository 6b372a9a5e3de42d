import { connect, type NatsConnection } from 'nats';
import { z } from 'zod';

/** The NATS servers a source or sink connects to (`host:port` or `nats://host:port`); nats.js tries them in turn. */
export const natsServersSchema = z.array(z.string().min(1)).min(1).default(['127.0.0.1:4222']);

/**
 * Connects to NATS with the settings every hairtrigger client uses: reconnect forever (a
 * daemon outlives a server restart; nats.js buffers what is published meanwhile) and a name
 * that says which daemon it is in `nats-server`'s connection list. Status changes (disconnect,
 * reconnect) go to `log` and `onStatus`. Throws what nats.js throws when no server answers.
 */
export async function natsConnect(servers: readonly string[], name: string, log: (line: string) => void, onStatus?: (type: string) => void): Promise<NatsConnection> {
  const nc = await connect({ servers: [...servers], name, maxReconnectAttempts: -1, reconnectTimeWait: 250, waitOnFirstConnect: false });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      onStatus?.(s.type);
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log(`nats ${name}: ${s.type} ${typeof s.data === 'string' ? s.data : ''}`.trimEnd());
    }
  })();
  return nc;
}
