import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { realEngineAvailable } from '../support/engine.js';
import {
  type FactoryProcess,
  type TestFactorySetup,
  factoryCommand,
  removeFactoryContainers,
  slotContainers,
  socketOf,
  startTestFactory,
  waitFor,
} from '../support/factory-process.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';

const engineUp = await realEngineAvailable('factory operations on the real engine');
const describeEngine = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-operations';
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Sends raw bytes to the control socket and returns the raw answer. */
function rawRequest(socketPath: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.on('connect', () => socket.end(text));
  });
}

/** Prometheus text format: `name{label="value",...} number` lines into samples. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not Prometheus text: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name: match[1]!, labels: labels as Record<string, string>, value: Number(match[3]) };
    });
}

describeEngine('operating a running factory on a real Docker engine', () => {
  let setup: TestFactorySetup;
  let factory: FactoryProcess | undefined;

  const httpBase = async () => {
    const line = await waitFor(
      async () => factory!.logs().find((l) => l.event === 'factory-starting'),
      30_000,
      'the start line',
    );
    return `http://${String(line.http)}`;
  };
  const running = async () => (await slotContainers(NAME)).filter((c) => c.state === 'running');
  const runningCount = (n: number) =>
    waitFor(async () => ((await running()).length === n ? true : undefined), 60_000, `${n} running`);

  beforeAll(async () => {
    await buildSlotImage();
    const dir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    setup = { name: NAME, dir, tokenFile: path.join(dir, 'pool.token'), image: SLOT_IMAGE };
    await writeFile(setup.tokenFile, 'stand-in\n', { mode: 0o600 });
    await removeFactoryContainers(NAME);
  });

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    await removeFactoryContainers(NAME);
    // Slot directories outlive containers; a test's heartbeat states must not leak into the next.
    await rm(path.join(setup.dir, 'state'), { recursive: true, force: true });
  });

  afterAll(async () => {
    if (setup) await rm(setup.dir, { recursive: true, force: true });
  });

  it('drains on SIGUSR1: each pilot gets its 5 s to finish and exits 0, none is replaced, the factory exits 0', async () => {
    const config = path.join(setup.dir, 'drain.yaml');
    await writeFile(config, 'environment:\n  SLOT_DRAIN_SECONDS: "5"\n');
    factory = startTestFactory(setup, 3, ['--config', config, '--exit-when-drained']);
    await runningCount(3);
    factory.signal('SIGUSR1');
    const { code } = await factory.exit;
    expect(code).toBe(0);
    const logs = factory.logs();
    const exits = logs.filter((l) => l.event === 'slot-exited');
    expect(exits).toHaveLength(3);
    expect(exits.every((l) => l.code === 0 && l.reason === 'drained')).toBe(true);
    const drainAt = logs.findIndex((l) => l.event === 'factory-draining');
    expect(logs.slice(drainAt).filter((l) => l.event === 'slot-started')).toEqual([]);
    expect(logs.filter((l) => l.event === 'slot-draining')).toHaveLength(3);
    expect(logs.at(-1)).toMatchObject({ event: 'factory-stopped' });
    expect(await slotContainers(NAME)).toEqual([]);
  }, 90_000);

  it('scales 4 → 8 → 2 through the socket, taking idle slots first (from their heartbeats)', async () => {
    factory = startTestFactory(setup, 4);
    await runningCount(4);
    expect((await factoryCommand(['scale', '8', '--socket', socketOf(setup)])).code).toBe(0);
    await runningCount(8);

    // Slots 1, 4 and 6 say Claimed in their heartbeats; the other five are idle.
    const claimed = [1, 4, 6];
    for (const slot of claimed)
      await writeFile(path.join(setup.dir, 'state', NAME, `slot-${slot}`, 'state'), 'Claimed\n');
    await waitFor(
      async () => {
        const status = await factoryCommand(['status', '--json', '--socket', socketOf(setup)]);
        const slots = (JSON.parse(status.stdout) as { slots: { slot: number; state?: string }[] }).slots;
        return claimed.every((i) => slots.find((s) => s.slot === i)?.state === 'Claimed') ? true : undefined;
      },
      30_000,
      'the heartbeats to say Claimed',
    );
    const scaled = await factoryCommand(['scale', '2', '--socket', socketOf(setup)]);
    expect(scaled).toMatchObject({ code: 0, stdout: 'scaling to 2 slots\n' });
    await runningCount(2);
    const survivors = (await running()).map((c) => c.slot);
    // Five idle ones go first, then the newest of the claimed: two claimed ones stay.
    expect(survivors.every((slot) => claimed.includes(slot))).toBe(true);
    const drained = factory
      .logs()
      .filter((l) => l.event === 'slot-draining')
      .map((l) => l.slot as number);
    expect(drained).toHaveLength(6);
    // Every idle slot was among the victims.
    expect(
      range(8)
        .filter((slot) => !claimed.includes(slot))
        .every((slot) => drained.includes(slot)),
    ).toBe(true);
  }, 120_000);

  it('keeps its control socket at mode 0600 and refuses malformed, oversized and unknown requests without changing anything', async () => {
    factory = startTestFactory(setup, 2);
    await runningCount(2);
    const socketPath = socketOf(setup);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(socketPath))).isDirectory()).toBe(true);

    const refusals: [string, RegExp][] = [
      ['{"command": "scale", "slots": 5', /malformed request/],
      ['not json at all\n', /malformed request/],
      [`{"command":"scale","slots":3,"pad":"${'x'.repeat(5000)}"}\n`, /request too large: the limit is 4096 bytes/],
      ['{"command":"format-disk"}\n', /unknown command/],
      ['{"command":"scale","slots":"3"}\n', /slots: expected a whole number/],
      ['{"command":"scale","slots":-1}\n', /slots: expected a whole number/],
      ['{"command":"scale","slots":2.5}\n', /slots: expected a whole number/],
      ['{"command":"scale","slots":3,"extra":true}\n', /unknown key "extra"/],
      ['[]\n', /unknown command|malformed/],
    ];
    for (const [request, reason] of refusals) {
      const answer = JSON.parse(await rawRequest(socketPath, request)) as { ok: boolean; error: string };
      expect(answer.ok).toBe(false);
      expect(answer.error).toMatch(reason);
    }
    expect(factory.logs().filter((l) => l.event === 'control-request')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await running()).length).toBe(2);
    expect(factory.logs().filter((l) => ['slot-started', 'slot-draining'].includes(l.event)).length).toBe(2);
  }, 60_000);

  it('says clearly when no factory is running', async () => {
    const result = await factoryCommand(['status', '--socket', path.join(setup.dir, 'nobody.sock')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: no factory is running: nothing answers on ${path.join(setup.dir, 'nobody.sock')}\n`,
    );
  }, 30_000);

  it('serves /metrics whose slot gauges equal what docker ps shows, /healthz, /status, and nothing that writes', async () => {
    factory = startTestFactory(setup, 3);
    await runningCount(3);
    const base = await httpBase();
    await waitFor(async () => ((await fetch(`${base}/healthz`)).status === 200 ? true : undefined), 30_000, 'healthy');
    // The pilots' first heartbeats arrive within a second of their start; a scrape reads them from their files.
    await waitFor(
      async () =>
        (await (await fetch(`${base}/metrics`)).text()).includes('cernvm_factory_idle_slots 3') ? true : undefined,
      30_000,
      'three idle heartbeats',
    );

    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(await response.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    const dockerPs = (await running()).length;
    const inMetrics = ['running', 'draining', 'stopping'].reduce(
      (sum, state) => sum + (value('cernvm_factory_slots', { state }) ?? NaN),
      0,
    );
    expect(inMetrics).toBe(dockerPs);
    expect(value('cernvm_factory_desired_slots')).toBe(3);
    expect(value('cernvm_factory_slots', { state: 'running' })).toBe(3);
    expect(value('cernvm_factory_idle_slots')).toBe(3);
    expect(value('cernvm_factory_container_starts_total')).toBe(3);
    expect(value('cernvm_factory_events_stream_connected')).toBe(1);
    expect(value('cernvm_factory_draining')).toBe(0);
    expect(value('cernvm_factory_docker_api_requests_total', { operation: 'container_create' })).toBe(3);
    expect(value('cernvm_factory_snapshot_info', { image: SLOT_IMAGE })).toBe(1);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0);
    // No container id is ever a label value.
    const ids = (await slotContainers(NAME)).map((c) => c.id.slice(0, 12));
    expect(samples.filter((s) => Object.values(s.labels).some((v) => ids.some((id) => v.includes(id))))).toEqual([]);

    const status = (await (await fetch(`${base}/status`)).json()) as { name: string; slots: unknown[] };
    expect(status).toMatchObject({ name: NAME });
    expect(status.slots).toHaveLength(3);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  }, 60_000);

  it('reloads its configuration file on SIGHUP: a new slot count converges', async () => {
    const config = path.join(setup.dir, 'reload.yaml');
    await writeFile(config, 'slots: 2\n');
    // Flags win over the file: this factory takes its count from the file only.
    factory = startTestFactory(setup, undefined, ['--config', config]);
    await runningCount(2);
    await writeFile(config, 'slots: 4\n');
    factory.signal('SIGHUP');
    await runningCount(4);
    expect(factory.logs().find((l) => l.event === 'factory-reloaded')).toMatchObject({ slots: 4 });
  }, 60_000);
});
