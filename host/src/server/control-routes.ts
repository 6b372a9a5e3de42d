/**
 * The control API: `GET /api/controls` (open, as every read) and the `POST /api/control/*`
 * endpoints (bearer token, `auth.ts`). Bodies are validated with the zod schemas the OpenAPI
 * document is generated from (`openapi.ts`); a bad body is a 400 naming the field, a refused
 * change the control's typed error. Each answer is the audit entry the change made.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequestError } from '../core/errors.js';
import type { DaemonControl } from './api-types.js';
import type { TokenCheck } from './auth.js';

/** `POST /api/control/trigger`: any of the trigger settings, at least one. */
export const triggerChangeSchema = z
  .object({
    threshold: z.number().min(0).max(1).optional(),
    holdoffUs: z.number().min(0).max(60e6).optional(),
    maxRatePerS: z.number().positive().max(1e7).optional(),
    burst: z.number().int().min(1).max(1e6).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'name at least one of threshold, holdoffUs, maxRatePerS, burst');

/** `POST /api/control/replay`: a pace multiplier (1 = real time), or null for as fast as possible. */
export const replayChangeSchema = z.object({ speed: z.number().min(0.1).max(100).nullable() }).strict();

/** `POST /api/control/model`: the name of a loaded model. */
export const modelChangeSchema = z.object({ model: z.string().min(1).max(200) }).strict();

/** `POST /api/control/pause` and `/resume`: no body, or an empty object. */
export const emptyBodySchema = z.object({}).strict().optional();

/** Every control endpoint: its body schema and what it calls. */
const CONTROL_ROUTES: Array<{ path: string; body: z.ZodType; apply: (c: DaemonControl, body: never, who: string) => unknown }> = [
  { path: '/api/control/trigger', body: triggerChangeSchema, apply: (c, b: z.infer<typeof triggerChangeSchema>, who) => c.setTrigger(b, who) },
  { path: '/api/control/pause', body: emptyBodySchema, apply: (c, _b, who) => c.pause(who) },
  { path: '/api/control/resume', body: emptyBodySchema, apply: (c, _b, who) => c.resume(who) },
  { path: '/api/control/replay', body: replayChangeSchema, apply: (c, b: z.infer<typeof replayChangeSchema>, who) => c.setReplaySpeed(b, who) },
  { path: '/api/control/model', body: modelChangeSchema, apply: (c, b: z.infer<typeof modelChangeSchema>, who) => c.setModel(b, who) },
];

/** The paths of the control endpoints (all `POST`, all need the token). */
export const CONTROL_PATHS: readonly string[] = CONTROL_ROUTES.map((r) => r.path);

/**
 * Registers the control API on `app`; `controlOf` picks the pipeline's controls a request
 * names (`?pipeline=`, server/pipelines.ts). Every `POST` first checks the bearer token (401,
 * counted, before the body is looked at), then the body, then applies the change.
 */
export function registerControlRoutes(app: FastifyInstance, controlOf: (req: FastifyRequest) => DaemonControl, auth: TokenCheck): void {
  app.get('/api/controls', async (req) => controlOf(req).state());
  for (const route of CONTROL_ROUTES) {
    const where = `POST ${route.path}`;
    app.post(route.path, { onRequest: async (req) => auth.require(req.headers.authorization, where, clientOf(req)) }, async (req) => {
      const body = parseBody(route.body, req.body, where);
      return route.apply(controlOf(req), body as never, `${auth.token.source} token from ${clientOf(req)}`);
    });
  }
}

function parseBody(schema: z.ZodType, body: unknown, where: string): unknown {
  const r = schema.safeParse(body ?? undefined);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new RequestError(where, `body ${field}${issue.message}`, 400);
}

/** The client's address as the socket saw it (no proxy headers are trusted). */
function clientOf(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? 'unknown';
}
