/**
 * The systemd units and the container file of host/service/: their directives point to files
 * the repository has, the example config runs as the unit would run it (paths mapped from
 * /opt/hairtrigger to this checkout and from the StateDirectory to a temporary folder), and
 * `systemd-analyze verify` accepts the units where it is installed.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../host/src/config/schema.js';
import { startRun, until } from '../support/cli-process.js';
import { REPO, tempDir } from '../support/fixtures.js';

const SERVICE = join(REPO, 'host', 'service');
const INSTALL = '/opt/hairtrigger';
const UNITS = ['hairtrigger.service', 'hairtrigger-health.service', 'hairtrigger-health.timer'];

/** A unit file's directives by section: every value of a key, in order (systemd allows repeats). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    expect(current, `directive outside a section: ${line}`).not.toBeNull();
    expect(eq, `not a directive: ${line}`).toBeGreaterThan(0);
    const key = line.slice(0, eq);
    current!.set(key, [...(current!.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** The one value of `key` in `section`. */
function one(unit: Map<string, Map<string, string[]>>, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? [];
  expect(values, `${section}.${key}`).toHaveLength(1);
  return values[0]!;
}

/** A path of the installed tree, in this checkout. */
const inRepo = (p: string) => (p.startsWith(`${INSTALL}/`) ? join(REPO, p.slice(INSTALL.length + 1)) : p);

const unit = parseUnit(readFileSync(join(SERVICE, 'hairtrigger.service'), 'utf8'));
const exampleConfig = readFileSync(join(SERVICE, 'hairtrigger.yaml'), 'utf8');

describe('host/service/hairtrigger.service', () => {
  it('restarts on failure, reloads with SIGHUP, stops with SIGTERM, logs to the journal, and is hardened', () => {
    const s = (k: string) => one(unit, 'Service', k);
    expect(s('Type')).toBe('simple');
    expect(s('Restart')).toBe('on-failure');
    expect(s('RestartPreventExitStatus')).toBe('2'); // the CLI's exit status for a bad config
    expect(s('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(s('KillSignal')).toBe('SIGTERM');
    for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'DynamicUser']) expect(s(k), k).toBe('yes');
    expect(s('ProtectSystem')).toBe('strict');
    expect(s('StandardOutput')).toBe('journal');
    expect(s('StandardError')).toBe('journal');
    expect(one(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('points to the binary, the working directory, the health check and a config that exist in the repository', () => {
    const workdir = one(unit, 'Service', 'WorkingDirectory');
    expect(workdir).toBe(INSTALL);
    const start = one(unit, 'Service', 'ExecStart').split(/\s+/);
    expect(start[0]).toBe('/usr/bin/node');
    expect(existsSync(inRepo(start[1]!)), start[1]).toBe(true);
    expect(start[1]).toBe(`${INSTALL}/bin/hairtrigger.js`);
    expect(start[2]).toBe('run');
    const config = start[start.indexOf('--config') + 1]!;
    // ConfigurationDirectory=hairtrigger is /etc/hairtrigger: the example config ships as host/service/hairtrigger.yaml.
    expect(config).toBe(`/etc/${one(unit, 'Service', 'ConfigurationDirectory')}/hairtrigger.yaml`);
    const post = one(unit, 'Service', 'ExecStartPost').split(/\s+/);
    expect(post[1]).toBe(`${INSTALL}/host/service/healthcheck.mjs`);
    expect(existsSync(inRepo(post[1]!))).toBe(true);
    const port = (parseYaml(exampleConfig) as { server: { port: number } }).server.port;
    expect(post[post.indexOf('--url') + 1]).toBe(`http://127.0.0.1:${port}/healthz`);
    // systemd kills a start that outlasts TimeoutStartSec (default 90 s), health gate included.
    expect(Number(one(unit, 'Service', 'TimeoutStartSec'))).toBeGreaterThan(Number(post[post.indexOf('--wait') + 1]));
  });

  it('runs its example config: every path it reads exists in the install tree, every path it writes is in the StateDirectory, and /healthz says up', async () => {
    const state = `/var/lib/${one(unit, 'Service', 'StateDirectory')}`;
    const raw = parseYaml(exampleConfig) as { model: string; source: { path: string }; sinks: Record<string, string> };
    expect(existsSync(join(inRepo(raw.model), 'card.json'))).toBe(true);
    expect(existsSync(inRepo(raw.source.path))).toBe(true);
    // ProtectSystem=strict: the daemon may write only there (and its lock files sit beside the logs).
    for (const path of Object.values(raw.sinks)) expect(path.startsWith(`${state}/`), path).toBe(true);
    const dir = tempDir('svc-unit');
    const mapped = join(dir, 'hairtrigger.yaml');
    writeFileSync(mapped, exampleConfig.replaceAll(`${INSTALL}/`, `${REPO}/`).replaceAll(`${state}/`, `${dir}/`));
    validateConfig(parseYaml(readFileSync(mapped, 'utf8')), mapped);
    const d = startRun(['-c', mapped, '--port', '0', '--progress-ms', '0']);
    try {
      await until('the dashboard URL', () => /dashboard on http:\/\/\S+\//.test(d.stderr()));
      const url = /dashboard on (http:\/\/\S+)\//.exec(d.stderr())![1]!;
      await until('/healthz 200', async () => (await fetch(`${url}/healthz`)).status === 200);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect(d.stderr()).toMatch(/stopped \(SIGTERM\): .*trigger log flushed/);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 60_000);

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.runIf(analyze.status === 0)('passes systemd-analyze verify (with the install tree mapped to this checkout)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-units-'));
    for (const name of UNITS) writeFileSync(join(dir, name), readFileSync(join(SERVICE, name), 'utf8').replaceAll(INSTALL, REPO));
    accessSync('/usr/bin/node', constants.X_OK);
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((n) => join(dir, n))], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('host/service/Containerfile', () => {
  const text = readFileSync(join(SERVICE, 'Containerfile'), 'utf8');
  const port = (parseYaml(exampleConfig) as { server: { port: number } }).server.port;

  it('checks health on /healthz with the shipped script, on the port it exposes', () => {
    expect(text).toMatch(new RegExp(`^HEALTHCHECK .*CMD \\["node", "${INSTALL}/host/service/healthcheck\\.mjs", "--url", "http://127\\.0\\.0\\.1:${port}/healthz"\\]$`, 'ms'));
    expect(text).toMatch(new RegExp(`^EXPOSE ${port}$`, 'm'));
    expect(text).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(text).toMatch(new RegExp(`^ENTRYPOINT \\["node", "${INSTALL}/bin/hairtrigger\\.js"\\]$`, 'm'));
  });

  it('listens on every interface of the container: its sed turns the example config\'s host line into 0.0.0.0', () => {
    const sed = /sed 's\/(.+?)\/(.+?)\/' host\/service\/hairtrigger\.yaml/.exec(text);
    expect(sed).not.toBeNull();
    const pattern = new RegExp(sed![1]!, 'm');
    const edited = exampleConfig.replace(pattern, sed![2]!);
    expect((parseYaml(edited) as { server: { host: string } }).server.host).toBe('0.0.0.0');
  });

  it('builds the firmware of the model its config runs', () => {
    const model = (parseYaml(exampleConfig) as { model: string }).model.slice(INSTALL.length + 1);
    expect(text).toContain(`node bin/hairtrigger.js compile ${model}`);
  });
});
