import { afterAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlRequest } from '../control-protocol.js';
import { ControlServer } from '../control-server.js';
import { SCALAR_KEYS, flagOf } from '../load-config.js';
import {
  type FlagSpec,
  RUNTIME_ERROR,
  STACK_FRAME,
  FakeSignals,
  argvPiece,
  isOneLine,
  oddValue,
  shelly,
} from '@docker-cernvm/cli-kit/testing';
import { FakeClock } from '../testing/fake-clock.js';
import { fakeMounter } from '../testing/fake-mounter.js';
import { FakeMountHost } from '../testing/fake-mount-host.js';
import type { CliContext } from './context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './main.js';

// Hundreds of runs each: more than jest's 5 s default when the whole suite runs in parallel.
jest.setTimeout(30_000);

// Property tests of docker-cernvm-factory in process. `start`: any argv is refused (exit 2, one error line) before
// the engine is asked for, or its configuration is accepted and the engine asked for (here it answers with a
// sentinel error, so nothing runs). Control commands: refused before anything is sent, or sent to a stand-in
// factory on a socket in the temp tree (never /run: every control argv names that socket, first).

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-cli-props-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const token = path.join(tmp, 'pool.token');
await writeFile(token, 'eyJhbGciOiJIUzI1NiJ9.x.y\n', { mode: 0o600 });
const goodConfig = path.join(tmp, 'good.yaml');
await writeFile(goodConfig, 'slots: 2\nimage: cernvm:4\npilot:\n  heartbeatSeconds: 10\n');
const badConfig = path.join(tmp, 'bad.yaml');
await writeFile(badConfig, 'slots: [2\n');

const SENTINEL = 'sentinel: the engine is not used by this test';
const VALID: Partial<Record<string, string[]>> = {
  slots: ['0', '1', '2', '4096'],
  image: ['cernvm:4', 'site/cernvm:prod'],
  name: ['docker-cernvm', 'site-a'],
  collector: ['127.0.0.1:9618', 'cm.example.org'],
  'token-file': [token],
  'state-dir': [path.join(tmp, 'state')],
  'memory-mb': ['64', '2048'],
  listen: ['none', '127.0.0.1:0'],
  'network-mode': ['host', 'bridge'],
  'log-format': ['human', 'json'],
  'on-exit': ['leave', 'stop'],
  'slot-command': ['pilot', 'image'],
};
const START_FLAGS: FlagSpec[] = [
  ...SCALAR_KEYS.map(flagOf).map((name) => ({
    name,
    value: fc.oneof(fc.constantFrom(...(VALID[name] ?? ['1'])), oddValue(), shelly()),
  })),
  {
    name: 'config',
    value: fc.oneof(fc.constantFrom(goodConfig, badConfig, path.join(tmp, 'missing.yaml'), tmp), oddValue()),
  },
  { name: 'exit-when-drained', value: oddValue() },
];
const CONTROL_FLAGS: FlagSpec[] = [
  { name: 'name', value: fc.oneof(fc.constant('docker-cernvm'), oddValue()) },
  { name: 'json', value: oddValue() },
  { name: 'force', value: oddValue() },
];

/** A valid core for start in most runs, so that the rest of the argv decides. */
const startArgv = fc
  .tuple(fc.boolean(), fc.array(argvPiece(START_FLAGS, ['start', 'scale']), { maxLength: 5 }))
  .map(([core, pieces]) => [
    'start',
    ...(core ? ['--slots', '1', '--token-file', token, '--listen', 'none'] : []),
    ...pieces.flat(),
  ]);

let counter = 0;

interface Outcome {
  code: number;
  out: string;
  err: string;
}

async function runWith(args: string[], runtimeAsked: () => void): Promise<Outcome> {
  let out = '';
  let err = '';
  const signals = new FakeSignals();
  const context: CliContext = {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), isTerminal: false },
    env: {},
    mountHost: () => new FakeMountHost(),
    runtime: () => {
      runtimeAsked();
      throw new Error(SENTINEL);
    },
    mounter: () => fakeMounter(),
    clock: new FakeClock(),
    signals,
    exitNow: () => undefined,
  };
  const code = await runCli(args, context);
  expect(signals.listenerCount).toBe(0);
  return { code, out, err };
}

function expectCommon({ code, out, err }: Outcome, args: string[]): void {
  const where = { args, code, err };
  expect({ ...where, stack: STACK_FRAME.test(out + err), runtime: RUNTIME_ERROR.test(err) }).toEqual({
    ...where,
    stack: false,
    runtime: false,
  });
  if (code !== EXIT_OK) {
    const lines = err.split('\n');
    expect({
      ...where,
      lines: lines.length,
      oneLine: isOneLine(lines[0]!),
      error: lines[0]!.startsWith('error: '),
    }).toEqual({
      ...where,
      lines: 2,
      oneLine: true,
      error: true,
    });
  }
}

describe('docker-cernvm-factory: any argv', () => {
  it('start: refused with one line before the engine is asked for, or accepted', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(startArgv, async (args) => {
        let asked = 0;
        const outcome = await runWith(args, () => asked++);
        seen.set(outcome.code, (seen.get(outcome.code) ?? 0) + 1);
        expectCommon(outcome, args);
        const where = { args, err: outcome.err };
        // Accepted: the engine was asked for and its sentinel is the one failure; refused: it never was.
        if (outcome.code === EXIT_USAGE) expect({ ...where, asked }).toEqual({ ...where, asked: 0 });
        else
          expect({ ...where, code: outcome.code, asked, err: outcome.err }).toEqual({
            ...where,
            code: EXIT_FAILURE,
            asked: 1,
            err: `error: ${SENTINEL}\n`,
          });
      }),
      { numRuns: 150 }, // a start that reaches its handler takes ~20 ms in process
    );
    expect(seen.get(EXIT_FAILURE)).toBeGreaterThan(5);
    expect(seen.get(EXIT_USAGE)).toBeGreaterThan(30);
  });

  it('scale, drain, resume, status: refused with one line and nothing sent, or sent', async () => {
    const socketPath = path.join(tmp, `c${++counter}.sock`);
    const requests: ControlRequest[] = [];
    const server = await ControlServer.listen(socketPath, async (request) => {
      requests.push(request);
      return request.command === 'status'
        ? { name: 'f', draining: false, template: { image: 'cernvm:4', hash: 'h' }, slots: [] }
        : { ok: request.command };
    });
    const seen = new Map<number, number>();
    const count = fc.oneof(fc.constantFrom('0', '3', '4096', '4097'), oddValue());
    const argv = fc
      .tuple(
        fc.constantFrom('scale', 'drain', 'resume', 'status'),
        fc.option(count, { freq: 4 }),
        fc.array(argvPiece(CONTROL_FLAGS, ['scale', 'status']), { maxLength: 4 }),
      )
      .map(([command, slots, pieces]) => [
        command,
        // The stand-in's socket first, and no later word may name another: no control request leaves the temp tree.
        '--socket',
        socketPath,
        ...(command === 'scale' && slots !== null ? [slots] : []),
        ...pieces.flat().filter((word) => !/socket/i.test(word)),
      ]);
    try {
      await fc.assert(
        fc.asyncProperty(argv, async (args) => {
          const before = requests.length;
          const outcome = await runWith(args, () => undefined);
          seen.set(outcome.code, (seen.get(outcome.code) ?? 0) + 1);
          expectCommon(outcome, args);
          const sent = requests.length - before;
          const where = { args, err: outcome.err };
          expect({ ...where, sent: outcome.code === EXIT_OK ? 1 : 0 }).toEqual({ ...where, sent });
          if (outcome.code === EXIT_OK && args[0] === 'scale') {
            const request = requests.at(-1) as ControlRequest & { command: 'scale' };
            expect({
              ...where,
              slots: request.slots,
              valid: Number.isInteger(request.slots) && request.slots >= 0 && request.slots <= 4096,
            }).toEqual({
              ...where,
              slots: request.slots,
              valid: true,
            });
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      await server.close();
    }
    expect(seen.get(EXIT_OK)).toBeGreaterThan(20);
    expect(seen.get(EXIT_USAGE)).toBeGreaterThan(50);
  });
});
