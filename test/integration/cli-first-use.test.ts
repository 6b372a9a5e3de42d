import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { runFiles } from '../../host/src/sinks/log-files.js';
import { lymphocyteCapture, REPO, tempDir, ZOO } from '../support/fixtures.js';
import { runCli } from '../support/cli-process.js';

// What a first-time user hit (issue 9): each test runs the built CLI as a user would.
const BCCD = join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows');


describe('the CLI for a first-time user', { timeout: 120_000 }, () => {
  const dir = tempDir('first-use');

  it('--version prints the version in package.json', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('replay takes --backend: sim by default (as make run), onnx on request, fpga only with --device', async () => {
    const base = ['replay', BCCD, '--model', join(ZOO, 'cells-bccd'), '--targets', 'WBC', '--frames', '100'];
    const sim = await runCli(base);
    expect(sim.code).toBe(0);
    expect(sim.stderr).toMatch(/cells-bccd\/student on sim,/);
    expect(JSON.parse(sim.stdout).backend).toBe('sim');
    const onnx = await runCli([...base, '--backend', 'onnx']);
    expect(onnx.code).toBe(0);
    expect(JSON.parse(onnx.stdout).backend).toBe('onnx');
    const fpga = await runCli([...base, '--backend', 'fpga']);
    expect(fpga.code).toBe(2);
    expect(fpga.stderr).toMatch(/E_CONFIG at config: device: missing: backend fpga needs device/);
  });

  it("resolves relative paths in a config from the config's folder, and command-line paths from the working directory", async () => {
    // A project folder elsewhere: config, model and capture side by side; run from a third folder.
    const project = join(dir, 'project');
    mkdirSync(project);
    cpSync(join(ZOO, 'cells-bccd'), join(project, 'model'), { recursive: true });
    copyFileSync(BCCD, join(project, 'cells.arrows'));
    writeFileSync(join(project, 'pipeline.yaml'), [
      'model: model', 'backend: onnx',
      'source: {kind: replay, path: cells.arrows, pacing: max, frames: 200}',
      'trigger: {targets: [WBC], maxRatePerS: 1000000, burst: 1000}',
      'sinks: {jsonl: out/triggers.jsonl}', 'server: {enabled: false}', '',
    ].join('\n'));
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const run = await runCli(['run', '--config', '../project/pipeline.yaml', '--progress-ms', '0'], elsewhere);
    expect(run.stderr).toMatch(/stopped \(end of stream\): frames 200 /);
    expect(run.code).toBe(0);
    // Each run writes its own files beside the configured base path (triggers.<run>.<part>.jsonl).
    expect(runFiles(join(project, 'out', 'triggers.jsonl')).length).toBe(1);
    expect(existsSync(join(elsewhere, 'out'))).toBe(false);
    // The same files named on the command line resolve from the working directory.
    const replay = await runCli(['replay', 'project/cells.arrows', '--model', 'project/model', '--backend', 'onnx', '--targets', 'WBC', '--frames', '50', '--jsonl', 'here.jsonl'], dir);
    expect(replay.code).toBe(0);
    expect(runFiles(join(dir, 'here.jsonl')).length).toBe(1);
  });

  it('refuses pacing x0 in a config file with a ConfigError naming the file and the field', async () => {
    for (const pacing of ['x0', 'x0.0', 'x-1', 'xabc']) {
      const path = join(dir, `pacing-${pacing}.yaml`);
      writeFileSync(path, `model: ${join(ZOO, 'cells-bccd')}\nsource: {kind: replay, path: ${BCCD}, pacing: ${pacing}}\ntrigger: {targets: [WBC]}\nserver: {enabled: false}\n`);
      const r = await runCli(['run', '--config', path]);
      expect(r.code, pacing).toBe(2);
      expect(r.stderr).toContain(`E_CONFIG at ${path}: source.pacing: value "${pacing}"`);
      expect(r.stderr).not.toMatch(/assert/i);
    }
    const rec = await runCli(['record', '--out', join(dir, 'never.arrows'), '--pacing', 'x0', '--frames', '5']);
    expect(rec.code).toBe(2);
    expect(rec.stderr).toMatch(/E_CONFIG at --pacing: value "x0": pacing xN needs N > 0/);
  });

  it('record --frames N says so and exits non-zero when the source runs out first, keeping what it got', async () => {
    const input = await lymphocyteCapture(dir, 300);
    const out = join(dir, 'rerecorded.arrows');
    const r = await runCli(['record', '--source', 'replay', '--input', input, '--out', out, '--pacing', 'max', '--frames', '3000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--frames 3000 asked for, but the source ran out after 300 frames/);
    expect(readCapture(out).count).toBe(300);
    const enough = await runCli(['record', '--source', 'replay', '--input', input, '--out', join(dir, 'part.arrows'), '--pacing', 'max', '--frames', '120']);
    expect(enough.code).toBe(0);
    expect(readCapture(join(dir, 'part.arrows')).count).toBe(120);
  });

  it('replay --frames beyond a capture that does not loop says how many it will replay', async () => {
    const r = await runCli(['replay', BCCD, '--model', join(ZOO, 'cells-bccd'), '--targets', 'WBC', '--frames', '3000']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('source: 3000 frames asked for, but the capture holds 945 and does not loop');
    expect(JSON.parse(r.stdout).frames).toBe(945);
  });

  it('a capture with no complete record batch is an error naming the file, not an empty success', async () => {
    // The schema message survives, the first record batch (the whole file's frames) does not.
    const path = join(dir, 'cut.arrows');
    writeFileSync(path, readFileSync(BCCD).subarray(0, 3000));
    expect(readCapture(path).count).toBe(0);
    const r = await runCli(['replay', path, '--model', join(ZOO, 'cells-bccd'), '--targets', 'WBC']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`E_CAPTURE_FORMAT at ${path}: no frames to replay`);
    expect(r.stdout).toBe('');
  });

  it("replay's final line gives the whole run's rate, and no percentile exceeds the max", async () => {
    const r = await runCli(['replay', BCCD, '--model', join(ZOO, 'cells-bccd'), '--targets', 'WBC']);
    expect(r.code).toBe(0);
    const m = /stopped \(end of stream\): frames 945 \(([\d.]+)(k?)\/s over the run\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    const snap = JSON.parse(r.stdout) as { e2eUs: Record<string, number>; stagesUs: Record<string, Record<string, number>> };
    for (const s of [snap.e2eUs, ...Object.values(snap.stagesUs)]) {
      for (const p of ['p50', 'p90', 'p99', 'p999']) expect(s[p]).toBeLessThanOrEqual(s.max);
    }
  });

  it('inspect summarises the bundled recordings, checked against an independent Arrow read', async () => {
    const r = await runCli(['inspect', join(REPO, 'sim', 'recordings'), '--json']);
    expect(r.code).toBe(0);
    const all = JSON.parse(r.stdout) as { path: string; stream: string; frames: number; labels: Record<string, number> | null; truncation: string | null }[];
    expect(all.map((s) => s.path.split('/').at(-1))).toEqual(['cells-bccd-test.arrows', 'cells-lymphocyte-1k.arrows', 'jets-hls4ml-10k.arrows']);
    for (const s of all) {
      const t = tableFromIPC(readFileSync(s.path));
      expect(s.frames).toBe(t.numRows);
      expect(s.truncation).toBeNull();
      if (s.labels !== null) {
        const names = JSON.parse(t.schema.metadata.get('hairtrigger.labels')!) as string[];
        const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
        for (const k of t.getChild('label')!.toArray() as Int16Array) counts[names[k]]++;
        expect(s.labels).toEqual(counts);
      }
    }
    // The README's table of the bundled recordings.
    expect(all[0].frames).toBe(945);
    expect(all[1].frames).toBe(1000);
    const text = await runCli(['inspect', BCCD]);
    expect(text.stdout).toMatch(/cells-bccd, \[32, 32, 3\] uint8, 945 frames, .* labels: RBC \d+, WBC \d+, Platelets \d+\n$/);
    const model = await runCli(['inspect', join(ZOO, 'cells-bccd')]);
    expect(model.stdout).toMatch(/model cells-bccd, labels RBC\/WBC\/Platelets/);
  });
});
