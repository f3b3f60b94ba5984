import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { PassThrough, type Readable } from 'node:stream';
import { type EngineEvent, EventStream, parseEventLine, sinceOf } from './event-stream.js';
import { FakeClock, settle } from './testing/fake-clock.js';

const ID = 'f3b1c0ffee5e0f9a7c5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b';

/** A container event as Docker ≥ 1.22 writes it on /events, with the labels in Actor.Attributes. */
function dockerEvent(action: string, overrides: Record<string, unknown> = {}, attributes: Record<string, string> = {}) {
  return {
    status: action,
    id: ID,
    from: 'cernvm:4',
    Type: 'container',
    Action: action,
    Actor: {
      ID,
      Attributes: {
        image: 'cernvm:4',
        name: 'f-slot-3',
        'org.docker-cernvm.factory': 'f',
        'org.docker-cernvm.slot': '3',
        ...(action === 'die' ? { exitCode: '1' } : {}),
        ...attributes,
      },
    },
    scope: 'local',
    time: 1_767_225_600,
    timeNano: 1_767_225_600_123_456_000,
    ...overrides,
  };
}

describe('parseEventLine', () => {
  it.each(['die', 'start', 'create', 'destroy', 'kill'])(
    'reads a container %s event: id, action, slot and time',
    (action) => {
      expect(parseEventLine(JSON.stringify(dockerEvent(action)))).toEqual({
        id: ID,
        action,
        slot: 3,
        timeNano: 1_767_225_600_123_456_000,
      });
    },
  );

  it('reads a line recorded from Docker 26.1 (API 1.45, containerd image store) and its API 1.52 form without status/id/from', () => {
    const recorded =
      '{"status":"start","id":"f64c1b699d9383a5f6dc4d589e4a7d340a47ea5f0770d08edc1851fc690b37ec","from":"docker-cernvm-test/slot:1",' +
      '"Type":"container","Action":"start","Actor":{"ID":"f64c1b699d9383a5f6dc4d589e4a7d340a47ea5f0770d08edc1851fc690b37ec",' +
      '"Attributes":{"image":"docker-cernvm-test/slot:1","name":"xenodochial_jepsen","org.docker-cernvm.slot":"3",' +
      '"org.docker-cernvm.test":"1"}},"scope":"local","time":1795828058,"timeNano":1795828058369441735}';
    const expected = {
      id: 'f64c1b699d9383a5f6dc4d589e4a7d340a47ea5f0770d08edc1851fc690b37ec',
      action: 'start',
      slot: 3,
      // As JSON.parse reads it (beyond 2^53, so rounded): the reconnect's `since` needs no better.
      timeNano: (JSON.parse(recorded) as { timeNano: number }).timeNano,
    };
    expect(parseEventLine(recorded)).toEqual(expected);
    const { status: _s, id: _i, from: _f, ...api152 } = JSON.parse(recorded) as Record<string, unknown>;
    expect(parseEventLine(JSON.stringify(api152))).toEqual(expected);
  });

  it('takes the id from the top level when Actor has none (older engines)', () => {
    const event = dockerEvent('die', { Actor: { Attributes: { 'org.docker-cernvm.slot': '1' } } });
    expect(parseEventLine(JSON.stringify(event))).toMatchObject({ id: ID, slot: 1 });
  });

  it.each<[string, Record<string, string>]>([
    ['no slot label', { 'org.docker-cernvm.slot': '' }],
    ['a slot label that is not a number', { 'org.docker-cernvm.slot': 'x' }],
    ['a negative slot label', { 'org.docker-cernvm.slot': '-1' }],
  ])('leaves the slot undefined for %s', (_name, attributes) => {
    expect(parseEventLine(JSON.stringify(dockerEvent('die', {}, attributes)))?.slot).toBeUndefined();
  });

  it('reads a missing time as 0', () => {
    const { timeNano: _drop, ...event } = dockerEvent('start');
    expect(parseEventLine(JSON.stringify(event))?.timeNano).toBe(0);
  });

  it.each<[string, string]>([
    ['garbage', 'not json at all'],
    ['an empty line', ''],
    ['a half object', '{"Type":"container","Action":"die"'],
    ['JSON that is not an object', '42'],
    ['null', 'null'],
    ['an image event', JSON.stringify(dockerEvent('pull', { Type: 'image' }))],
    ['a network event', JSON.stringify(dockerEvent('connect', { Type: 'network' }))],
    ['a container event without an id', JSON.stringify(dockerEvent('die', { id: undefined, Actor: {} }))],
    ['a container event without an action', JSON.stringify(dockerEvent('die', { Action: undefined }))],
  ])('ignores %s', (_name, line) => {
    expect(parseEventLine(line)).toBeUndefined();
  });
});

describe('sinceOf', () => {
  it.each<[number | bigint, string]>([
    [1_767_225_600_123_456_789n, '1767225600.123456789'],
    [1_767_225_600_000_000_001n, '1767225600.000000001'],
    [1_767_225_600_000_000_000n, '1767225600.000000000'],
    [999n, '0.000000999'],
    [2_000_000_000, '2.000000000'],
  ])('%s ns → %s', (nanos, since) => {
    expect(sinceOf(nanos)).toBe(since);
  });
});

describe('EventStream', () => {
  let clock: FakeClock;
  let opened: PassThrough[];
  let sinces: Array<string | undefined>;
  let failures: Error[];
  let events: EngineEvent[];
  let log: string[];
  let stream: EventStream;

  const line = (action: string, timeNano: number, id = ID) =>
    `${JSON.stringify(dockerEvent(action, { timeNano, id, Actor: { ID: id, Attributes: { 'org.docker-cernvm.slot': '2' } } }))}\n`;
  const current = () => opened[opened.length - 1]!;

  beforeEach(() => {
    clock = new FakeClock();
    opened = [];
    sinces = [];
    failures = [];
    events = [];
    log = [];
    stream = new EventStream(async (since?: string): Promise<Readable> => {
      sinces.push(since);
      const failure = failures.shift();
      if (failure) throw failure;
      const s = new PassThrough();
      opened.push(s);
      return s;
    }, clock);
    stream.on('event', (event) => events.push(event));
    stream.on('connected', () => log.push('connected'));
    stream.on('disconnected', (reason) => log.push(`disconnected: ${reason}`));
  });

  afterEach(() => stream.close());

  it('emits connected once the stream is open, and says it is connected', async () => {
    expect(stream.connected).toBe(false);
    stream.start();
    await settle();
    expect(log).toEqual(['connected']);
    expect(stream.connected).toBe(true);
    expect(sinces).toEqual([undefined]);
  });

  it('parses JSON objects split across chunks, and several in one chunk', async () => {
    stream.start();
    await settle();
    const a = line('start', 1_000_000_000);
    const b = line('die', 2_000_000_000);
    const c = line('destroy', 3_000_000_000);
    current().write(a.slice(0, 17));
    current().write(a.slice(17, 60));
    current().write(a.slice(60) + b + c.slice(0, 5));
    current().write(c.slice(5));
    await settle();
    expect(events.map((e) => e.action)).toEqual(['start', 'die', 'destroy']);
    expect(events.every((e) => e.id === ID && e.slot === 2)).toBe(true);
  });

  it('skips lines it cannot read and goes on with the next', async () => {
    stream.start();
    await settle();
    current().write(`garbage\n${JSON.stringify({ Type: 'image', Action: 'pull', id: 'x' })}\n\n${line('die', 5)}`);
    await settle();
    expect(events.map((e) => e.action)).toEqual(['die']);
  });

  it('accepts CRLF line ends', async () => {
    stream.start();
    await settle();
    current().write(line('die', 5).replace('\n', '\r\n') + line('start', 6).replace('\n', '\r\n'));
    await settle();
    expect(events.map((e) => e.action)).toEqual(['die', 'start']);
  });

  it('reconnects after a backoff when the engine closes the stream, from the last event seen', async () => {
    stream.start();
    await settle();
    current().write(line('start', 1_767_225_600_500_000_000) + line('die', 1_767_225_601_250_000_000));
    await settle();
    current().end();
    await settle();
    expect(log).toEqual(['connected', 'disconnected: the engine closed the events stream']);
    expect(stream.connected).toBe(false);

    await clock.advance(499);
    expect(opened).toHaveLength(1);
    await clock.advance(1);
    expect(opened).toHaveLength(2);
    expect(sinces[1]).toBe(sinceOf(events[1]!.timeNano));
    // Nanoseconds since 1970 do not fit a double: the since is within a few hundred ns of the event (the resync on
    // reconnect covers the rest).
    expect(sinces[1]).toMatch(/^1767225601\.2(?:49999|50000)\d{3}$/);
    expect(log.at(-1)).toBe('connected');
    expect(stream.connected).toBe(true);

    // Events on the new stream arrive as before.
    current().write(line('start', 1_767_225_700_000_000_000));
    await settle();
    expect(events).toHaveLength(3);
  });

  it('reconnects without a since when it has not seen an event yet', async () => {
    stream.start();
    await settle();
    current().end();
    await clock.advance(500);
    expect(sinces).toEqual([undefined, undefined]);
  });

  it('reconnects when the stream breaks with an error, and says why', async () => {
    stream.start();
    await settle();
    current().destroy(new Error('socket hang up'));
    await settle();
    expect(log.at(-1)).toBe('disconnected: events stream error: socket hang up');
    await clock.advance(500);
    expect(opened).toHaveLength(2);
  });

  it('reconnects when the stream is dropped without an end or an error', async () => {
    stream.start();
    await settle();
    current().destroy();
    await settle();
    expect(log.at(-1)).toMatch(/^disconnected: /);
    await clock.advance(500);
    expect(opened).toHaveLength(2);
  });

  it('doubles the wait while the engine refuses, up to 10 s, and starts again from 500 ms once connected', async () => {
    failures.push(...Array.from({ length: 7 }, () => new Error('connect ENOENT /var/run/docker.sock')));
    stream.start();
    await settle();
    const waits: number[] = [];
    let last = clock.now();
    while (opened.length === 0) {
      const at = clock.nextTimerAt!;
      await clock.advance(at - clock.now());
      waits.push(clock.now() - last);
      last = clock.now();
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(log.filter((l) => l.startsWith('disconnected')).at(0)).toBe(
      'disconnected: cannot open the events stream: connect ENOENT /var/run/docker.sock',
    );
    current().end();
    await settle();
    expect(clock.nextTimerAt! - clock.now()).toBe(500);
  });

  it('stops for good on close(): the open stream is ended and no reconnect is scheduled', async () => {
    stream.start();
    await settle();
    const first = current();
    stream.close();
    await settle();
    expect(first.destroyed).toBe(true);
    expect(stream.connected).toBe(false);
    await clock.advance(60_000);
    expect(opened).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('cancels a reconnect already scheduled when closed', async () => {
    stream.start();
    await settle();
    current().end();
    await settle();
    expect(clock.pending).toBe(1);
    stream.close();
    expect(clock.pending).toBe(0);
    await clock.advance(60_000);
    expect(opened).toHaveLength(1);
  });

  it('closes a stream that opens only after close()', async () => {
    let resolveOpen!: (s: Readable) => void;
    const late = new PassThrough();
    const slow = new EventStream(() => new Promise<Readable>((resolve) => (resolveOpen = resolve)), clock);
    slow.start();
    slow.close();
    resolveOpen(late);
    await settle();
    expect(late.destroyed).toBe(true);
    expect(slow.connected).toBe(false);
  });

  it('schedules nothing when an open fails after close()', async () => {
    let rejectOpen!: (error: Error) => void;
    const slow = new EventStream(() => new Promise<Readable>((_resolve, reject) => (rejectOpen = reject)), clock);
    const said: string[] = [];
    slow.on('disconnected', (reason) => said.push(reason));
    slow.start();
    slow.close();
    rejectOpen(new Error('engine gone'));
    await settle();
    expect(clock.pending).toBe(0);
    expect(said).toEqual([]);
  });
});
