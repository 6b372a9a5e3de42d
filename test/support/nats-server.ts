import type { NatsConnection } from 'nats';
import { afterAll, beforeAll } from 'vitest';
import { natsClient, startNatsServer, type NatsServer } from '../../sim/src/nats-server.js';

// The real nats-server the tests start lives in sim/ (the bench starts it too).
export { freePort, hasNatsServer, natsClient, startNatsServer, type NatsServer } from '../../sim/src/nats-server.js';

/** A server and a client for every test of the enclosing describe: started before them, stopped after. A test may replace both (a restart). */
export function natsServerForSuite(): { server: NatsServer; client: NatsConnection } {
  const held = {} as { server: NatsServer; client: NatsConnection };
  beforeAll(async () => {
    held.server = await startNatsServer();
    held.client = await natsClient(held.server);
  });
  afterAll(async () => {
    await held.client.close();
    await held.server.stop();
  });
  return held;
}
