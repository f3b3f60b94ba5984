import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FactoryMetrics } from './metrics.js';

export interface HealthState {
  healthy: boolean;
  reason: string;
}

export interface ObservationSources {
  metrics: FactoryMetrics;
  health: () => HealthState;
  status: () => unknown;
  /** Brings what is read from files (heartbeats) up to date before answering. */
  refresh: () => Promise<unknown>;
}

/** `GET /metrics`, `/healthz` and `/status` for Prometheus and people; read-only: nothing here changes the factory. */
export class ObservationServer {
  private constructor(private readonly server: Server) {}

  static async listen(host: string, port: number, sources: ObservationSources): Promise<ObservationServer> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('read-only: GET only\n');
        return;
      }
      const url = new URL(request.url ?? '/', 'http://localhost');
      void (async () => {
        if (url.pathname === '/metrics' || url.pathname === '/status') await sources.refresh();
        switch (url.pathname) {
          case '/metrics': {
            // Collected before the head is sent: a collector that fails still gets a 500 (see the catch below).
            const text = await sources.metrics.registry.metrics();
            response.writeHead(200, { 'Content-Type': sources.metrics.registry.contentType }).end(text);
            return;
          }
          case '/healthz': {
            const health = sources.health();
            response.writeHead(health.healthy ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${health.reason}\n`);
            return;
          }
          case '/status':
            response
              .writeHead(200, { 'Content-Type': 'application/json' })
              .end(`${JSON.stringify(sources.status(), null, 2)}\n`);
            return;
          default:
            response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: /metrics, /healthz or /status\n');
        }
      })().catch(() => {
        // Never throw from here: an unhandled rejection would end the whole factory.
        if (response.headersSent) response.destroy();
        else response.writeHead(500, { 'Content-Type': 'text/plain' }).end('internal error\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return new ObservationServer(server);
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
