/**
 * The control API against a real `hairtrigger run` daemon (bin/hairtrigger.js: `make build`):
 * a threshold change changes which frames trigger (checked frame by frame against the
 * decision log's probabilities), a replay speed change changes the due-time spacing of the
 * trigger records (against the capture's own arrival times), pause stops frames, a model
 * switch changes the model the frames are decided by; a request without the token is refused
 * and counted; a non-loopback bind without a configured token is refused at start.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import type { AuditEntry, ControlsState } from '../../host/src/server/api-types.js';
import type { Snapshot, TriggerEvent } from '../../host/src/metrics/snapshot.js';
import { sampleValue } from '../../host/src/server/testing.js';
import { startRun, until } from '../support/cli-process.js';
import { lymphocyteCapture, modelCopy, readJsonlLog, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

interface Decision {
  seq: number;
  probs: number[];
  trigger: boolean;
  /** Past its deadline at the policy: never triggered, whatever the threshold. */
  late: boolean;
}

const CAPTURE_FRAMES = 400;
const START_SPEED = 0.25;

function writeConfig(path: string, lines: string[]): void {
  writeFileSync(path, [...lines, ''].join('\n'));
}

describe('control API on a running daemon', () => {
  it('threshold, replay speed, pause and model switch take effect between frames; no token: 401 and counted', async () => {
    const dir = tempDir('control');
    const capture = await lymphocyteCapture(dir, CAPTURE_FRAMES);
    const model = join(ZOO, 'cells-lymphocyte');
    const [decisionsPath, jsonl, config] = [join(dir, 'decisions.jsonl'), join(dir, 't'), join(dir, 'run.yaml')];
    writeConfig(config, [
      `model: ${model}`, 'backend: onnx', 'budgetUs: 60000000', `decisions: ${decisionsPath}`,
      `source: { kind: replay, path: ${capture}, pacing: x${START_SPEED}, loop: true }`,
      `models: [{ name: teacher, model: ${model}, variant: teacher }]`,
      'trigger: { targets: [B], threshold: 0.5, maxRatePerS: 10000000, burst: 1000000 }',
      `sinks: { jsonl: ${jsonl} }`, 'server: { host: 127.0.0.1, port: 0 }',
    ]);
    const d = startRun(['-c', config, '--progress-ms', '0']);
    try {
      await until('the token URL in the log', () => /#token=(\S+)/.test(d.stderr()));
      const [, url, token] = /open (http:\/\/\S+)\/#token=(\S+)/.exec(d.stderr())!;
      expect(d.stderr().split('#token=')).toHaveLength(2);
      const snap = async () => (await (await fetch(`${url}/api/snapshot`)).json()) as Snapshot;
      const controls = async () => (await (await fetch(`${url}/api/controls`)).json()) as ControlsState;
      const post = async (path: string, body?: unknown, auth = `Bearer ${decodeURIComponent(token!)}`) => {
        const res = await fetch(`${url}/api/control/${path}`, { method: 'POST', headers: body === undefined ? { authorization: auth } : { authorization: auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as AuditEntry };
      };
      const moreFrames = async (n: number) => {
        await until('the snapshot to answer', async () => (await fetch(`${url}/api/snapshot`)).status === 200);
        const from = (await snap()).frames;
        await until(`${n} more frames`, async () => (await snap()).frames >= from + n, 90_000);
      };

      await moreFrames(300);
      expect((await post('trigger', { threshold: 0.95 }, 'Bearer wrong-token')).status).toBe(401);
      expect((await post('trigger', { threshold: 0.95 }, '')).status).toBe(401);
      expect(sampleValue(await (await fetch(`${url}/metrics`)).text(), 'hairtrigger_http_unauthorized_requests_total')).toBe(2);
      const changed = await post('trigger', { threshold: 0.95 });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ outcome: 'applied', changes: ['trigger.threshold: 0.5 -> 0.95'], who: 'generated token from 127.0.0.1' });
      await moreFrames(300);
      // Every frame fires at threshold 0: the trigger log then holds each frame's due time.
      expect((await post('trigger', { threshold: 0 })).status).toBe(200);
      await moreFrames(200);
      expect((await post('replay', { speed: 1 })).body.changes).toEqual([`replay.speed: ${START_SPEED} -> 1`]);
      await moreFrames(400);

      expect((await post('pause')).body.changes).toEqual(['paused: false -> true']);
      await new Promise((r) => setTimeout(r, 800));
      const pausedAt = (await snap()).frames;
      await new Promise((r) => setTimeout(r, 1500));
      expect((await snap()).frames).toBe(pausedAt);
      expect((await controls()).settings).toMatchObject({ paused: true, replaySpeed: 1, threshold: 0 });
      expect((await post('resume')).status).toBe(200);
      await moreFrames(100);

      expect((await post('model', { model: 'nope' })).status).toBe(400);
      expect((await post('model', { model: 'teacher' })).body.changes).toEqual(['model: cells-lymphocyte/student -> teacher']);
      await until('the snapshot to name the teacher', async () => (await snap()).model === 'teacher');
      await moreFrames(150);
      const state = await controls();
      expect(state.settings).toMatchObject({ model: 'teacher', models: ['cells-lymphocyte/student', 'teacher'] });
      expect(state.unauthorized).toBe(2);
      expect(state.audit.map((a) => `${a.action} ${a.outcome}`)).toEqual([
        'POST /api/control/trigger applied', 'POST /api/control/trigger applied', 'POST /api/control/replay applied',
        'POST /api/control/pause applied', 'POST /api/control/resume applied', 'POST /api/control/model refused', 'POST /api/control/model applied',
      ]);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect(d.stderr()).toMatch(/control POST \/api\/control\/trigger by generated token from 127\.0\.0\.1: trigger\.threshold: 0\.5 -> 0\.95/);

      const decisions = readFileSync(decisionsPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Decision);
      expect(decisions.length).toBeGreaterThan(1500);
      const triggers = readJsonlLog<TriggerEvent>(jsonl).filter((t) => t.kind === 'trigger');
      checkThresholds(decisions, triggers);
      checkSpeeds(triggers, capture);
      checkModelSwitch(decisions);
      // Each trigger record names the model that decided it: the student's, then the teacher's.
      const models = triggers.map((t) => t.model);
      const firstTeacher = models.indexOf('teacher');
      expect(firstTeacher).toBeGreaterThan(0);
      expect(models.slice(0, firstTeacher).every((m) => m === 'cells-lymphocyte/student')).toBe(true);
      expect(models.slice(firstTeacher).every((m) => m === 'teacher')).toBe(true);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 240_000);

  it('pause of a live TCP source: frames arriving while paused are dropped and counted, none decided; resume decides again; no replay speed for it', async () => {
    const dir = tempDir('control-live');
    const capture = await lymphocyteCapture(dir, 200);
    const spec = readCapture(capture).spec;
    const config = join(dir, 'run.yaml');
    writeConfig(config, [
      `model: ${join(ZOO, 'cells-lymphocyte')}`, 'backend: onnx', 'budgetUs: 60000000',
      `source: { kind: stream, listen: '127.0.0.1:0', stream: ${spec.stream}, shape: [${spec.shape.join(', ')}], dtype: ${spec.dtype}, labels: [${spec.labels!.join(', ')}], queue: { policy: block } }`,
      'trigger: { targets: [B] }', `sinks: { jsonl: ${join(dir, 't')} }`, 'server: { host: 127.0.0.1, port: 0, token: control-test-token-0123 }',
    ]);
    const d = startRun(['-c', config, '--progress-ms', '0']);
    try {
      await until('the source to listen', () => /dashboard on (http:\/\/\S+)\//.test(d.stderr()) && /control token from server\.token/.test(d.stderr()));
      expect(d.stderr()).not.toMatch(/#token=/);
      const url = /dashboard on (http:\/\/\S+)\//.exec(d.stderr())![1]!;
      const health = async () => (await (await fetch(`${url}/healthz`)).json()) as { pipelines: Array<{ state: string; frames: number; source: { detail: string } }> };
      await until('the pipeline to run', async () => (await health()).pipelines[0]!.state === 'running');
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec((await health()).pipelines[0]!.source.detail)![1]);
      const post = (path: string, body?: unknown) => fetch(`${url}/api/control/${path}`, { method: 'POST', headers: { authorization: 'Bearer control-test-token-0123', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const metric = async (name: string) => sampleValue(await (await fetch(`${url}/metrics`)).text(), name);
      expect((await post('pause')).status).toBe(200);
      const replay = await post('replay', { speed: 2 });
      expect(replay.status).toBe(409);
      expect(((await replay.json()) as { error: { message: string } }).error.message).toMatch(/source "stream" is live/);
      const send = async () => {
        const socket = connect(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.on('error', () => {});
        await new Promise<void>((res, rej) => socket.write(readFileSync(capture), (err) => (err ? rej(err) : res())));
        return socket;
      };
      const first = await send();
      await until('200 frames dropped by pause', async () => (await metric('hairtrigger_frames_dropped_by_pause_total')) === 200, 60_000);
      expect((await health()).pipelines[0]!.frames).toBe(0);
      first.destroy();
      expect((await post('resume')).status).toBe(200);
      const second = await send();
      await until('200 frames decided after resume', async () => (await health()).pipelines[0]!.frames === 200, 60_000);
      expect(await metric('hairtrigger_frames_dropped_by_pause_total')).toBe(200);
      second.destroy();
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 120_000);

  it('refuses at start an alternate model of other labels or preprocessing, naming models.<i>', async () => {
    const dir = tempDir('control-models');
    const capture = await lymphocyteCapture(dir, 10);
    const primary = join(ZOO, 'cells-lymphocyte');
    const relabelled = modelCopy('cells-lymphocyte', dir, (c) => (c.labels = ['B', 'T4', 'NK']));
    const restandardised = modelCopy('cells-lymphocyte', dir, (c) => (c.preprocessing.mean = [0.5]));
    const start = (models: unknown[]) => runToEnd(replayConfig(primary, capture, { backend: 'onnx', models }));
    await expect(start([{ name: 'other', model: relabelled }])).rejects.toThrow(/E_CONFIG at config: models\.0: .*labels \["B","T4","NK"\] differ from the primary model's \["B","T4","T8"\]/);
    await expect(start([{ name: 'same', model: primary, variant: 'teacher' }, { name: 'other', model: restandardised }])).rejects.toThrow(/config: models\.1: .*preprocessing/);
    await expect(start([{ name: 'teacher', model: primary, variant: 'teacher' }, { name: 'teacher', model: primary }])).rejects.toThrow(/config: models\.1\.name: "teacher" is used twice/);
    // The same model's teacher takes the same frames: loaded, and the run goes through.
    const d = await start([{ name: 'teacher', model: primary, variant: 'teacher' }]);
    expect(d.models.names).toEqual(['cells-lymphocyte/student', 'teacher']);
    expect(d.metrics.frames).toBe(10);
  }, 120_000);

  it('refuses to bind off loopback without a configured token, naming server.host and server.token', async () => {
    const dir = tempDir('control-bind');
    const capture = await lymphocyteCapture(dir, 10);
    const config = join(dir, 'run.yaml');
    writeConfig(config, [
      `model: ${join(ZOO, 'cells-lymphocyte')}`, 'backend: onnx', `source: { kind: replay, path: ${capture} }`,
      'trigger: { targets: [B] }', `sinks: { jsonl: ${join(dir, 't')} }`, 'server: { host: 0.0.0.0, port: 0 }',
    ]);
    const d = startRun(['-c', config, '--progress-ms', '0']);
    expect(await d.exited).not.toBe(0);
    expect(d.stderr()).toMatch(/E_CONFIG at config: server\.host: "0\.0\.0\.0" is not a loopback address, and no server\.token/);
    expect(d.stderr()).not.toMatch(/dashboard on/);
  }, 60_000);
});

/**
 * The decisions fall into three runs, under thresholds 0.5, 0.95 and 0 in turn: each frame
 * triggered exactly when P(B) reached the threshold in force (hold-off 0, rate unlimited).
 * A frame both rules agree on may sit on either side of a change, and a late frame (never
 * triggered: a loaded machine makes some) fits every rule. Trigger counts per run match the
 * trigger log.
 */
function checkThresholds(decisions: Decision[], triggers: TriggerEvent[]): void {
  const thresholds = [0.5, 0.95, 0];
  const fires = (d: Decision, t: number) => d.probs[0]! >= t;
  // The log rounds probabilities to 4 decimals: within that of the threshold, either answer fits.
  const fits = (d: Decision, t: number) => (d.late && !d.trigger) || Math.abs(d.probs[0]! - t) <= 1e-4 || fires(d, t) === d.trigger;
  const runs: Decision[][] = [[], [], []];
  let r = 0;
  for (const d of decisions) {
    while (r < thresholds.length && !fits(d, thresholds[r]!)) r++;
    expect(r, `seq ${d.seq}: trigger ${d.trigger} with P(B) ${d.probs[0]} fits no threshold from here on`).toBeLessThan(thresholds.length);
    runs[r]!.push(d);
  }
  // Each run holds frames that only its threshold explains: the change was real, not a tie.
  expect(runs[0]!.some((d) => d.trigger && !fires(d, 0.95))).toBe(true);
  expect(runs[1]!.some((d) => !d.trigger && fires(d, 0.5))).toBe(true);
  expect(runs[2]!.some((d) => d.trigger && !fires(d, 0.5))).toBe(true);
  expect(triggers).toHaveLength(decisions.filter((d) => d.trigger).length);
  const triggered = new Set(triggers.map((t) => t.seq));
  expect(decisions.filter((d) => d.trigger).every((d) => triggered.has(d.seq))).toBe(true);
}

/**
 * At threshold 0 every frame is in the trigger log with its due time. Consecutive frames of
 * one pass are due (their arrival gap in the capture) / speed apart: 0.25 before the change,
 * 1 after (one gap straddles it; the pause shifts one more).
 */
function checkSpeeds(triggers: TriggerEvent[], capturePath: string): void {
  const cap = readCapture(capturePath);
  const bySeq = triggers.filter((t) => t.seq >= 0).sort((a, b) => a.seq - b.seq);
  const speeds: number[] = [];
  for (let i = 1; i < bySeq.length; i++) {
    const [a, b] = [bySeq[i - 1]!, bySeq[i]!];
    const k = a.seq % CAPTURE_FRAMES;
    const streamGapNs = cap.sensorNs[k + 1]! - cap.sensorNs[k]!;
    // Due times are whole nanoseconds: gaps under 50 us would not resolve the speed to 1e-3.
    if (b.seq !== a.seq + 1 || k === CAPTURE_FRAMES - 1 || streamGapNs < 50_000) continue;
    speeds.push(streamGapNs / (b.dueNs - a.dueNs));
  }
  const at = (s: number) => speeds.filter((x) => Math.abs(x - s) < s * 1e-3).length;
  expect(at(START_SPEED)).toBeGreaterThan(100);
  expect(at(1)).toBeGreaterThan(300);
  // Besides the gaps at the speed change and at the pause, every gap fits one of the speeds,
  // the slower ones all before the faster ones.
  expect(speeds.length - at(START_SPEED) - at(1)).toBeLessThanOrEqual(2);
  const lastSlow = speeds.findLastIndex((x) => Math.abs(x - START_SPEED) < START_SPEED * 1e-3);
  const firstFast = speeds.findIndex((x) => Math.abs(x - 1) < 1e-3);
  expect(lastSlow).toBeLessThan(firstFast);
}

/**
 * The same capture frame (seq modulo the capture's length) decided by the student in an
 * early pass and again after the switch: the student gives it the same probabilities every
 * pass; after the switch, the frames decided differ from the student's answer.
 */
function checkModelSwitch(decisions: Decision[]): void {
  const student = new Map<number, string>();
  let switchedAt = -1;
  for (const [n, d] of decisions.entries()) {
    const k = d.seq % CAPTURE_FRAMES;
    const probs = JSON.stringify(d.probs);
    const seen = student.get(k);
    if (seen === undefined && switchedAt < 0) student.set(k, probs);
    else if (seen !== undefined && seen !== probs && switchedAt < 0) switchedAt = n;
  }
  expect(switchedAt).toBeGreaterThan(0);
  const after = decisions.slice(switchedAt).filter((d) => student.has(d.seq % CAPTURE_FRAMES));
  const differ = after.filter((d) => JSON.stringify(d.probs) !== student.get(d.seq % CAPTURE_FRAMES)).length;
  expect(after.length).toBeGreaterThan(100);
  expect(differ / after.length).toBeGreaterThan(0.5);
}
