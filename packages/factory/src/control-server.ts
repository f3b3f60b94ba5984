import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { type Server, type Socket, connect, createServer } from 'node:net';
import path from 'node:path';
import {
  type ControlRequest,
  type ControlResponse,
  MAX_REQUEST_BYTES,
  parseControlRequest,
} from './control-protocol.js';
import { FactoryError, type FactoryErrorCode } from './errors.js';

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/** Whether something answers on the socket (a live factory), as opposed to a file a killed one left behind. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * The factory's only mutating interface: a unix socket, mode 0600 in a 0700 directory, one JSON request per
 * connection, answered with one JSON line. Oversized, malformed and unknown requests are refused and change nothing.
 */
export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  static async listen(socketPath: string, handler: ControlHandler): Promise<ControlServer> {
    await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    // Nothing there, the usual case after a clean stop: nothing can answer, nothing to replace.
    const existing = await lstat(socketPath).catch(() => undefined);
    if (existing) {
      // Only a socket file is ours to replace: a mistyped --socket must not delete a file that happens to be there.
      if (!existing.isSocket()) {
        throw new FactoryError(
          'E_BAD_OPTION',
          `${socketPath} exists and is not a socket: remove it or use another --socket`,
        );
      }
      if (await answers(socketPath)) {
        throw new FactoryError(
          'E_ALREADY_RUNNING',
          `a factory already answers on ${socketPath}: stop it first or use another --name`,
        );
      }
      await rm(socketPath, { force: true }); // left by a factory that was killed
    }
    // Half-open: a client that ends its side after the request (nc -N, socat) still gets the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o600);
    return new ControlServer(server, socketPath);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }
}

function reply(socket: Socket, response: ControlResponse): void {
  socket.end(`${JSON.stringify(response)}\n`);
}

function serve(socket: Socket, handler: ControlHandler): void {
  let text = '';
  let done = false;
  socket.setEncoding('utf8');
  socket.setTimeout(5_000, () => socket.destroy());
  socket.on('error', () => undefined);
  const handle = async () => {
    if (done) return;
    done = true;
    const parsed = parseControlRequest(text.trim());
    if ('error' in parsed) return reply(socket, { ok: false, error: parsed.error });
    try {
      reply(socket, { ok: true, result: await handler(parsed.request) });
    } catch (error) {
      const code = error instanceof FactoryError ? { code: error.code } : {};
      reply(socket, { ok: false, error: (error as Error).message.split('\n')[0] ?? 'failed', ...code });
    }
  };
  socket.on('data', (chunk: string) => {
    if (done) return;
    text += chunk;
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
      done = true;
      reply(socket, { ok: false, error: `request too large: the limit is ${MAX_REQUEST_BYTES} bytes` });
      return;
    }
    if (text.includes('\n')) void handle();
  });
  socket.on('end', () => void handle());
}

/** Sends one request to the factory on this socket and returns its answer; says clearly when none is running. */
export async function sendControlRequest(socketPath: string, request: unknown, timeoutMs = 10_000): Promise<unknown> {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(
        new FactoryError('E_NOT_RUNNING', `the factory on ${socketPath} did not answer within ${timeoutMs / 1000} s`),
      );
    });
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('end', () => resolve(text));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        reject(new FactoryError('E_NOT_RUNNING', `no factory is running: nothing answers on ${socketPath}`));
      } else reject(error);
    });
  });
  let response: ControlResponse | undefined;
  try {
    response = JSON.parse(answer) as ControlResponse;
  } catch {
    response = undefined;
  }
  if (typeof response !== 'object' || response === null) {
    throw new FactoryError('E_NOT_RUNNING', `the factory on ${socketPath} closed the connection without an answer`);
  }
  if (!response.ok) {
    // A refusal the factory made for a usage reason (scale beyond the pinned cores) is the caller's usage error.
    const usage = new FactoryError((response.code ?? 'E_REFUSED') as FactoryErrorCode, response.error);
    throw usage.isUsageError ? usage : new FactoryError('E_REFUSED', response.error);
  }
  return response.result;
}
