#!/usr/bin/env node
// Exit 0 when the daemon's /healthz answers 200 (every pipeline up), 1 otherwise: for the
// systemd unit's ExecStartPost, a health timer, and the container's HEALTHCHECK. Plain Node
// (fetch), so it needs nothing the daemon does not: slim images have no curl.
//   node healthcheck.mjs [--url http://127.0.0.1:8080/healthz] [--wait SECONDS]
// --wait: retry every 0.5 s until up or SECONDS passed (a start-up gate).
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://127.0.0.1:8080/healthz' }, wait: { type: 'string', default: '0' } } });
const waitS = Number(values.wait);
if (!Number.isFinite(waitS) || waitS < 0) {
  process.stderr.write(`healthcheck: --wait must be a number of seconds >= 0, got "${values.wait}"\n`);
  process.exit(2);
}
const deadline = Date.now() + waitS * 1000;

/** One probe: [up, what to print]. */
async function probe() {
  try {
    const res = await fetch(values.url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    return [res.status === 200, `${res.status} ${text.slice(0, 2000)}`];
  } catch (err) {
    return [false, `${values.url}: ${err.message}${err.cause ? ` (${err.cause.code ?? err.cause.message})` : ''}`];
  }
}

for (;;) {
  const [up, said] = await probe();
  if (up || Date.now() >= deadline) {
    (up ? process.stdout : process.stderr).write(`healthcheck: ${said}\n`);
    process.exit(up ? 0 : 1);
  }
  await new Promise((r) => setTimeout(r, 500));
}
