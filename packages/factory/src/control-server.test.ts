import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlRequest } from './control-protocol.js';
import { ControlServer, sendControlRequest } from './control-server.js';
import { FactoryError } from './errors.js';

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-control-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

let dir: string;
let socketPath: string;
let handled: ControlRequest[];
let servers: ControlServer[];
let counter = 0;

/** Answers every request with what it was asked, after recording it. */
const echo = async (request: ControlRequest): Promise<unknown> => {
  handled.push(request);
  return { echoed: request.command };
};

async function listen(handler = echo, at = socketPath): Promise<ControlServer> {
  const server = await ControlServer.listen(at, handler);
  servers.push(server);
  return server;
}

/** Sends raw text on the socket (ending the connection after it) and returns the raw answer. */
function rawRequest(text: string | Buffer, { end = true } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve(answer) : reject(error),
    );
    socket.on('connect', () => (end ? socket.end(text) : socket.write(text)));
  });
}

/** What a SIGKILLed factory leaves behind: a socket file with no process listening on it. */
async function leaveStaleSocket(at: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(at)}, () => console.log('up'))`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function expectFactoryError(promise: Promise<unknown>, code: string, message: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FactoryError);
  expect((error as FactoryError).code).toBe(code);
  if (typeof message === 'string') expect((error as FactoryError).message).toBe(message);
  else expect((error as FactoryError).message).toMatch(message);
}

beforeEach(() => {
  // A fresh directory per test: one that does not exist yet, so that its creation is tested too.
  dir = path.join(tmp, `run-${++counter}`);
  socketPath = path.join(dir, 'f.sock');
  handled = [];
  servers = [];
});

afterEach(async () => {
  for (const server of servers) await server.close();
});

describe('ControlServer: the socket', () => {
  it('is mode 0600, in a directory it creates with mode 0700', async () => {
    await listen();
    const socket = await stat(socketPath);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    const parent = await stat(dir);
    expect(parent.isDirectory()).toBe(true);
    expect(parent.mode & 0o777).toBe(0o700);
  });

  it('refuses to listen where another factory answers, and leaves that one working', async () => {
    await listen();
    await expectFactoryError(
      listen(),
      'E_ALREADY_RUNNING',
      `a factory already answers on ${socketPath}: stop it first or use another --name`,
    );
    expect(await sendControlRequest(socketPath, { command: 'status' })).toEqual({ echoed: 'status' });
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('replaces a stale socket file that nobody listens on (a SIGKILLed factory left it)', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await leaveStaleSocket(socketPath);
    expect((await stat(socketPath)).isSocket()).toBe(true);
    await listen();
    expect(await sendControlRequest(socketPath, { command: 'resume' })).toEqual({ echoed: 'resume' });
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
  });

  it('refuses a path that is not a socket, and leaves that file alone', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(socketPath, 'precious\n');
    await expectFactoryError(
      listen(),
      'E_BAD_OPTION',
      `${socketPath} exists and is not a socket: remove it or use another --socket`,
    );
    expect(await readFile(socketPath, 'utf8')).toBe('precious\n');
  });

  it('removes the socket file on close(), after which a client hears that nothing runs', async () => {
    const server = await listen();
    servers = [];
    await server.close();
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await expectFactoryError(
      sendControlRequest(socketPath, { command: 'status' }),
      'E_NOT_RUNNING',
      `no factory is running: nothing answers on ${socketPath}`,
    );
  });
});

describe('ControlServer: requests', () => {
  it('answers a request with one JSON line', async () => {
    await listen();
    expect(await rawRequest('{"command":"status"}\n', { end: false })).toBe(
      '{"ok":true,"result":{"echoed":"status"}}\n',
    );
    expect(handled).toEqual([{ command: 'status' }]);
  });

  it('answers a request whose sender ends the connection after it, newline or not (nc -N, socat)', async () => {
    await listen(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a handler that takes a moment, as status does
      return echo(request);
    });
    expect(await rawRequest('{"command":"status"}')).toBe('{"ok":true,"result":{"echoed":"status"}}\n');
    expect(await rawRequest('{"command":"drain"}\n')).toBe('{"ok":true,"result":{"echoed":"drain"}}\n');
    expect(handled).toEqual([{ command: 'status' }, { command: 'drain' }]);
  });

  it('takes a request that arrives in pieces, a multi-byte character split between them', async () => {
    await listen();
    const answer = new Promise<string>((resolve) => {
      const socket = connect(socketPath);
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('connect', () => {
        const bytes = Buffer.from('{"command":"status","x":"ü"}\n');
        const cut = bytes.indexOf(0xbc); // inside the ü
        socket.write(bytes.subarray(0, cut));
        setTimeout(() => socket.write(bytes.subarray(cut)), 20);
      });
    });
    expect(JSON.parse(await answer)).toEqual({ ok: false, error: 'unknown key "x"' });
  });

  it.each<[string, string, string]>([
    ['malformed JSON', '{"command": "scale", "slots": 5\n', 'malformed request: expected one JSON object'],
    [
      'an unknown command',
      '{"command":"format-disk"}\n',
      'unknown command: expected one of status, drain, resume, reload, scale',
    ],
    ['a wrong type', '{"command":"scale","slots":"3"}\n', 'slots: expected a whole number from 0 to 4096'],
    ['an unknown key', '{"command":"scale","slots":3,"extra":true}\n', 'unknown key "extra"'],
    ['an array', '[]\n', 'malformed request: expected one JSON object'],
    ['nothing at all', '', 'malformed request: expected one JSON object'],
  ])('refuses %s without calling the handler', async (_name, text, error) => {
    await listen();
    expect(JSON.parse(await rawRequest(text))).toEqual({ ok: false, error });
    expect(handled).toEqual([]);
  });

  it('refuses a request over 4096 bytes without calling the handler, even a valid one', async () => {
    await listen();
    const big = `{"command":"status"${' '.repeat(4100)}}\n`;
    expect(JSON.parse(await rawRequest(big))).toEqual({
      ok: false,
      error: 'request too large: the limit is 4096 bytes',
    });
    const huge = `{"command":"scale","slots":3,"pad":"${'x'.repeat(200_000)}"}\n`;
    expect(JSON.parse(await rawRequest(huge))).toEqual({
      ok: false,
      error: 'request too large: the limit is 4096 bytes',
    });
    // Counted in bytes, not characters: 1400 three-byte characters are 4200 bytes.
    expect(JSON.parse(await rawRequest(`{"command":"status","x":"${'€'.repeat(1400)}"}\n`))).toEqual({
      ok: false,
      error: 'request too large: the limit is 4096 bytes',
    });
    expect(handled).toEqual([]);
    // And the server still answers the next one.
    expect(await sendControlRequest(socketPath, { command: 'status' })).toEqual({ echoed: 'status' });
  });

  it('takes a request just under the limit', async () => {
    await listen();
    const text = `{"command":"status"${' '.repeat(4000)}}\n`;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    expect(JSON.parse(await rawRequest(text))).toEqual({ ok: true, result: { echoed: 'status' } });
  });

  it('answers a handler’s error as {ok:false,error} with its first line', async () => {
    await listen(async () => {
      throw new FactoryError('E_PIN_OVERCOMMIT', '3 slots need 3 pinned cores\nsecond line');
    });
    expect(JSON.parse(await rawRequest('{"command":"scale","slots":3}\n'))).toEqual({
      ok: false,
      error: '3 slots need 3 pinned cores',
      code: 'E_PIN_OVERCOMMIT',
    });
  });
});

describe('sendControlRequest', () => {
  it('returns the result of an accepted request', async () => {
    await listen();
    expect(await sendControlRequest(socketPath, { command: 'scale', slots: 2, force: true })).toEqual({
      echoed: 'scale',
    });
    expect(handled).toEqual([{ command: 'scale', slots: 2, force: true }]);
  });

  it('says no factory is running when the socket does not exist (E_NOT_RUNNING)', async () => {
    const missing = path.join(tmp, 'nobody.sock');
    await expectFactoryError(
      sendControlRequest(missing, { command: 'status' }),
      'E_NOT_RUNNING',
      `no factory is running: nothing answers on ${missing}`,
    );
  });

  it('says no factory is running when nothing listens on the socket file (E_NOT_RUNNING)', async () => {
    const at = path.join(tmp, `dead-${counter}.sock`);
    await leaveStaleSocket(at);
    await expectFactoryError(
      sendControlRequest(at, { command: 'status' }),
      'E_NOT_RUNNING',
      `no factory is running: nothing answers on ${at}`,
    );
  });

  it('turns a refusal into E_REFUSED with the factory’s reason', async () => {
    await listen();
    await expectFactoryError(
      sendControlRequest(socketPath, { command: 'scale', slots: -1 }),
      'E_REFUSED',
      'slots: expected a whole number from 0 to 4096',
    );
    await expectFactoryError(
      sendControlRequest(socketPath, { command: 'frobnicate' }),
      'E_REFUSED',
      /^unknown command/,
    );
    expect(handled).toEqual([]);
  });

  it('passes a usage refusal on with its code (the CLI exits 2), and any other failure as E_REFUSED', async () => {
    await listen(async (request) => {
      if (request.command === 'scale')
        throw new FactoryError('E_PIN_OVERCOMMIT', 'need 3 pinned cores, but this host has 2');
      throw new FactoryError('E_ENGINE', 'the engine refused');
    });
    await expectFactoryError(
      sendControlRequest(socketPath, { command: 'scale', slots: 3 }),
      'E_PIN_OVERCOMMIT',
      'need 3 pinned cores, but this host has 2',
    );
    await expectFactoryError(sendControlRequest(socketPath, { command: 'status' }), 'E_REFUSED', 'the engine refused');
  });

  it('says so clearly when the other end closes without an answer', async () => {
    await mkdir(dir, { recursive: true });
    const mute = createServer((socket) => socket.once('data', () => socket.end()));
    await new Promise<void>((resolve) => mute.listen(socketPath, resolve));
    try {
      await expectFactoryError(
        sendControlRequest(socketPath, { command: 'status' }),
        'E_NOT_RUNNING',
        `the factory on ${socketPath} closed the connection without an answer`,
      );
    } finally {
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  it('gives up after its timeout when the other end never answers', async () => {
    await mkdir(dir, { recursive: true });
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    try {
      await expectFactoryError(
        sendControlRequest(socketPath, { command: 'status' }, 100),
        'E_NOT_RUNNING',
        `the factory on ${socketPath} did not answer within 0.1 s`,
      );
    } finally {
      silent.close();
    }
  });
});
