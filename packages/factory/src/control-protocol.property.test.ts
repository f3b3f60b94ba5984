import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliContext } from './cli/context.js';
import { EXIT_OK } from '@docker-cernvm/cli-kit';
import { runCli } from './cli/main.js';
import { MAX_SLOTS } from './config.js';
import { MAX_REQUEST_BYTES, parseControlRequest } from './control-protocol.js';
import { sendControlRequest } from './control-server.js';
import { FakeSignals, isOneLine } from '@docker-cernvm/cli-kit/testing';
import { FakeClock } from './testing/fake-clock.js';
import { fakeMounter } from './testing/fake-mounter.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { FakeMountHost } from './testing/fake-mount-host.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Control requests of any shape: the protocol answers a valid command or a one-line refusal, and a running
// factory (the daemon on the fake engine, through its real socket) that refuses a request changes nothing.

const COMMANDS = ['status', 'drain', 'resume', 'reload', 'scale'];

/** Request-shaped objects with wrong types, keys and values mixed in. */
const requestLike = fc.record(
  {
    command: fc.oneof(
      fc.constantFrom(...COMMANDS, 'STATUS', 'constructor', '__proto__', ''),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    slots: fc.oneof(
      fc.integer({ min: -2, max: MAX_SLOTS + 2 }),
      fc.double(),
      fc.constantFrom(1e308, -0, '3', null),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    force: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** Valid requests (the scale small enough for the fake engine's two cores is not needed: the factory runs unpinned). */
const validRequest = fc.oneof(
  fc.constantFrom('status', 'drain', 'resume', 'reload').map((command) => ({ command })),
  fc.record(
    { command: fc.constant('scale'), slots: fc.integer({ min: 0, max: 4 }), force: fc.boolean() },
    { requiredKeys: ['command', 'slots'] },
  ),
);

/** The text of a request: valid, JSON of anything, request-like JSON (sometimes damaged), or raw bytes. */
const requestText = fc.oneof(
  { weight: 2, arbitrary: validRequest.map((r) => JSON.stringify(r)) },
  { weight: 3, arbitrary: requestLike.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        validRequest,
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
      )
      .map(([request, extra]) => JSON.stringify({ ...extra, ...request })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        requestLike.map((r) => JSON.stringify(r)),
        fc.nat(),
        fc.string({ unit: 'binary', maxLength: 2 }),
      )
      .map(
        ([text, at, piece]) =>
          `${text.slice(0, at % (text.length + 1))}${piece}${text.slice((at % (text.length + 1)) + 1)}`,
      ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

describe('parseControlRequest: any text', () => {
  it('returns exactly a valid command or a one-line refusal, and never throws', () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(requestText, (text) => {
        const result = parseControlRequest(text);
        expect(Object.keys(result)).toHaveLength(1);
        if ('error' in result) {
          seen.refused++;
          expect({ text, oneLine: isOneLine(result.error), zod: /Invalid input/.test(result.error) }).toEqual({
            text,
            oneLine: true,
            zod: false,
          });
          return;
        }
        seen.accepted++;
        const { request } = result;
        expect(JSON.parse(text)).toEqual(request);
        if (request.command === 'scale') {
          expect(Number.isInteger(request.slots) && request.slots >= 0 && request.slots <= MAX_SLOTS).toBe(true);
          expect(request.force === undefined || typeof request.force === 'boolean').toBe(true);
        } else {
          expect(Object.keys(request)).toEqual(['command']);
        }
      }),
      { numRuns: 1000 },
    );
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(300);
  });
});

// ---- the running factory ----

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-control-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const token = path.join(tmp, 'pool.token');
await writeFile(token, 'eyJhbGciOiJIUzI1NiJ9.x.y\n', { mode: 0o600 });
const socketPath = path.join(tmp, 'run', 'f.sock');
const clock = new FakeClock();
const runtime = new FakeRuntime(clock);
const signals = new FakeSignals();
let err = '';
const context: CliContext = {
  io: { stdout: () => undefined, stderr: (t) => void (err += t), isTerminal: false },
  env: {},
  mountHost: () => new FakeMountHost(),
  runtime: () => runtime,
  mounter: () => fakeMounter(),
  clock,
  signals,
  exitNow: () => undefined,
};
let exit: Promise<number> | undefined;

/** Sends raw bytes (ending the connection after them) and returns the raw answer. */
function rawRequest(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      ['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? resolve(answer) : reject(error),
    );
    socket.on('connect', () => socket.end(bytes));
  });
}

/** Everything a request could change: what the factory wants, and what the engine has and was asked. */
function snapshot() {
  return {
    status: sendControlRequest(socketPath, { command: 'status' }).then((s) => {
      const { desired, factoryDraining } =
        (s as { summary?: { desired: number; factoryDraining: boolean } }).summary ?? {};
      return { desired, factoryDraining, draining: (s as { draining: boolean }).draining };
    }),
    containers: [...runtime.containers.values()].map((c) => `${c.id}:${c.state}`).sort(),
    calls: runtime.calls.filter((call) => !/^(list|inspect:)/.test(call)).length,
  };
}

beforeAll(async () => {
  exit = runCli(
    [
      'start',
      '--no-pin',
      '--slots',
      '2',
      '--token-file',
      token,
      '--state-dir',
      path.join(tmp, 'state'),
      '--socket',
      socketPath,
      '--listen',
      'none',
      '--log-format',
      'json',
    ],
    context,
  );
  for (let i = 0; i < 400 && runtime.running().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(runtime.running()).toHaveLength(2);
});

afterAll(async () => {
  signals.emit('SIGTERM');
  expect(await exit).toBe(EXIT_OK);
});

describe('a running factory: any bytes on its control socket', () => {
  const bytes = fc.oneof(
    { weight: 4, arbitrary: requestText.map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('{"command":"drain"', '{"command":"scale","slots":0', '['),
          fc.integer({ min: MAX_REQUEST_BYTES, max: 3 * MAX_REQUEST_BYTES }),
        )
        .map(([start, size]) => Buffer.from(`${start}${' '.repeat(size)}}`)),
    },
  );

  it('answers one JSON line; a refusal leaves the desired state, the draining flag and the containers as they were', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(bytes, async (request) => {
        const before = snapshot();
        const beforeStatus = await before.status;
        const answer = await rawRequest(request);
        const where = { request: request.toString('utf8').slice(0, 200), answer: answer.slice(0, 200) };
        expect({ ...where, lines: answer.split('\n').length }).toEqual({ ...where, lines: 2 });
        const response = JSON.parse(answer) as { ok: boolean; error?: string };
        const decoded = request.toString('utf8');
        const tooLarge = Buffer.byteLength(decoded) > MAX_REQUEST_BYTES;
        const parsed = parseControlRequest(decoded.trim());
        if (tooLarge || 'error' in parsed) {
          expect({ ...where, ok: response.ok }).toEqual({ ...where, ok: false });
          expect(response.error).toBe(
            tooLarge
              ? `request too large: the limit is ${MAX_REQUEST_BYTES} bytes`
              : (parsed as { error: string }).error,
          );
        }
        if (response.ok) return void seen.accepted++;
        seen.refused++;
        expect(isOneLine(response.error ?? '')).toBe(true);
        const after = snapshot();
        expect({ ...where, status: await after.status, containers: after.containers, calls: after.calls }).toEqual({
          ...where,
          status: beforeStatus,
          containers: before.containers,
          calls: before.calls,
        });
      }),
      { numRuns: 300 },
    );
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.accepted).toBeGreaterThan(5);
  });
});
