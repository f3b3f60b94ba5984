import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Gauge } from 'prom-client';
import { type HealthState, ObservationServer, type ObservationSources } from './http-server.js';
import { FactoryMetrics } from './metrics.js';
import { parsePrometheus, sampleValue } from './testing/prometheus.js';

let metrics: FactoryMetrics;
let health: HealthState;
let refreshes: number;
let order: string[];
let sources: ObservationSources;
let server: ObservationServer | undefined;
let base: string;

beforeEach(async () => {
  metrics = new FactoryMetrics();
  health = { healthy: true, reason: 'ok' };
  refreshes = 0;
  order = [];
  sources = {
    metrics,
    health: () => health,
    status: () => {
      order.push('status');
      return { name: 'f', refreshes };
    },
    refresh: async () => {
      refreshes++;
      order.push('refresh');
      // What a scrape sees must be what the refresh brought: a count it can only have after it.
      metrics.countRequest('refreshed');
    },
  };
  // Port 0: a free port of the kernel's choosing; a unit test never takes a fixed one.
  server = await ObservationServer.listen('127.0.0.1', 0, sources);
  base = `http://127.0.0.1:${server.address.port}`;
});

afterEach(async () => {
  await server?.close();
});

describe('ObservationServer', () => {
  it('listens on the loopback address it was given, on a port of its own', () => {
    expect(server!.address.address).toBe('127.0.0.1');
    expect(server!.address.port).toBeGreaterThan(0);
  });

  it('serves /metrics as Prometheus text, brought up to date first', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await response.text());
    expect(sampleValue(samples, 'cernvm_factory_docker_api_requests_total', { operation: 'refreshed' })).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_desired_slots')).toBeDefined();
    expect(samples.some((s) => s.name.startsWith('process_'))).toBe(true);
    expect(refreshes).toBe(1);
  });

  it('answers /healthz 200 with "ok" while healthy, without reading anything again', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
    expect(refreshes).toBe(0);
  });

  it('answers /healthz 503 with the reason when not healthy', async () => {
    health = { healthy: false, reason: 'the Docker events stream is not connected' };
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('the Docker events stream is not connected\n');
  });

  it('serves /status as JSON, read after the refresh', async () => {
    const response = await fetch(`${base}/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ name: 'f', refreshes: 1 });
    expect(order).toEqual(['refresh', 'status']);
  });

  it('ignores a query string', async () => {
    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200);
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])(
    'refuses %s with 405: it is read-only, and changes nothing',
    async (method) => {
      for (const path of ['/metrics', '/status', '/healthz', '/scale']) {
        const response = await fetch(`${base}${path}`, {
          method,
          body: method === 'DELETE' ? undefined : '{"command":"drain"}',
        });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
        expect(await response.text()).toBe('read-only: GET only\n');
      }
      expect(refreshes).toBe(0);
      expect(order).toEqual([]);
    },
  );

  it.each(['/', '/metrics/', '/nothing', '/status.json', '/../etc/passwd'])('answers 404 for %s', async (path) => {
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('not found: /metrics, /healthz or /status\n');
  });

  it('answers 500 when the refresh fails, and keeps serving', async () => {
    sources.refresh = async () => {
      throw new Error('cannot read the heartbeats');
    };
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    expect((await fetch(`${base}/status`)).status).toBe(500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('answers 500 when a metric cannot be collected, instead of hanging or crashing', async () => {
    new Gauge({
      name: 'cernvm_factory_broken',
      help: 'a collector that fails',
      registers: [metrics.registry],
      collect() {
        throw new Error('broken collector');
      },
    });
    const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
    expect(response.status).toBe(500);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('stops answering once closed', async () => {
    await server!.close();
    server = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
