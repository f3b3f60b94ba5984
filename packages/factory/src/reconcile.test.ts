import { describe, expect, it } from '@jest/globals';
import { type Action, type ObservedContainer, type ReconcileInput, reconcile } from './reconcile.js';
import { busy, heartbeat, idle } from './testing/builders.js';
import {
  CURRENT,
  NOW,
  OLD,
  applyActions,
  created,
  exited,
  input,
  lines,
  running,
  seededRandom,
} from './testing/observed.js';

const INF = Number.POSITIVE_INFINITY;

describe('reconcile: filling', () => {
  it.each<[string, ObservedContainer[], Parameters<typeof input>[1], string[]]>([
    ['nothing there, 3 slots: creates 0, 1 and 2', [], { slots: 3 }, ['create 0', 'create 1', 'create 2']],
    ['nothing there, 0 slots: nothing to do', [], { slots: 0 }, []],
    ['exactly N running: nothing to do', [running(0), running(1)], { slots: 2 }, []],
    ['gaps are filled lowest index first', [running(0), running(2)], { slots: 4 }, ['create 1', 'create 3']],
    ['a pilot on a high index counts: only the missing number is made', [running(5)], { slots: 2 }, ['create 0']],
    [
      'an old template does not count as serving, but holds its index',
      [running(0, { templateHash: OLD })],
      { slots: 1, indexLimit: 2 },
      ['create 1', 'drain s0 template'],
    ],
  ])('%s', (_name, observed, overrides, expected) => {
    expect(lines(reconcile(input(observed, overrides)))).toEqual(expected);
  });

  it('never makes more than the missing number, however many indices are free', () => {
    const actions = reconcile(input([running(3)], { slots: 2 }));
    expect(lines(actions)).toEqual(['create 0']);
  });
});

describe('reconcile: containers that are not running', () => {
  it.each<[string, ObservedContainer[], Parameters<typeof input>[1], string[]]>([
    [
      'an exited pilot is removed (its slot is made again once that is done)',
      [running(0), exited(1)],
      { slots: 2 },
      ['remove exited1 exited'],
    ],
    [
      'an exited pilot beyond N is removed and not replaced',
      [running(0), exited(4)],
      { slots: 1 },
      ['remove exited4 exited'],
    ],
    [
      'a created, never-started container nobody is starting is removed (a factory killed between create and start)',
      [created(0)],
      { slots: 1 },
      ['remove created0 never-started'],
    ],
    [
      'a created container whose slot is being created is that create in flight: left alone',
      [created(0)],
      { slots: 1, creating: [0] },
      [],
    ],
    [
      'an exited pilot is removed even while the factory drains',
      [exited(0)],
      { slots: 3, draining: true },
      ['remove exited0 exited'],
    ],
    [
      'a never-started container is removed while the factory drains',
      [created(2)],
      { slots: 3, draining: true },
      ['remove created2 never-started'],
    ],
  ])('%s', (_name, observed, overrides, expected) => {
    expect(lines(reconcile(input(observed, overrides)))).toEqual(expected);
  });
});

describe('reconcile: a slot whose old container is still there', () => {
  it.each<[string, ObservedContainer[], string[]]>([
    ['exited', [exited(0), running(1)], ['remove exited0 exited']],
    ['never started', [created(0), running(1)], ['remove created0 never-started']],
  ])(
    'waits for the %s container’s removal (its name is taken) instead of moving to another index',
    (_name, observed, expected) => {
      expect(lines(reconcile(input(observed, { slots: 2 })))).toEqual(expected);
    },
  );

  it('still makes the other missing slots meanwhile', () => {
    expect(lines(reconcile(input([exited(1)], { slots: 3 })))).toEqual([
      'create 0',
      'create 2',
      'remove exited1 exited',
    ]);
  });
});

describe('reconcile: creates in flight', () => {
  it('counts a slot being created as occupied: no second create for it', () => {
    expect(lines(reconcile(input([running(0)], { slots: 2, creating: [1] })))).toEqual([]);
  });

  it('counts a slot being created as serving: only the rest is made', () => {
    expect(lines(reconcile(input([running(0)], { slots: 4, creating: [1] })))).toEqual(['create 2', 'create 3']);
  });

  it('counts a create in flight once when the list already shows its container running (no surplus drain)', () => {
    // createAndStart has started the container but not returned yet: the slot is both in `creating` and running.
    const actions = reconcile(
      input([running(0), running(1, { id: 'just-started', createdAt: 5000 })], { slots: 2, creating: [1] }),
    );
    expect(lines(actions)).toEqual([]);
  });

  it('drains no running pilot for a scale-down while creates are in flight: those are the cheapest victims', () => {
    const observed = [running(0, { heartbeat: busy() }), running(1, { heartbeat: busy() })];
    expect(lines(reconcile(input(observed, { slots: 2, creating: [2, 3] })))).toEqual([]);
    // Once they run, the pass after chooses among all four: the newest (the two just made) go.
    const after = [...observed, running(2, { createdAt: 9000 }), running(3, { createdAt: 9000 })];
    expect(lines(reconcile(input(after, { slots: 2 })))).toEqual(['drain s2 scale-down', 'drain s3 scale-down']);
  });

  it('drains only the running surplus beyond the slots when creates are in flight', () => {
    const observed = [running(0), running(1), running(2)];
    expect(lines(reconcile(input(observed, { slots: 1, creating: [3] })))).toEqual([
      'drain s1 scale-down',
      'drain s2 scale-down',
    ]);
  });
});

describe('reconcile: one container per slot index', () => {
  it('keeps the oldest running of two on one index and drains the other as a duplicate', () => {
    const observed = [running(0, { id: 'newer', createdAt: 2000 }), running(0, { id: 'older', createdAt: 1000 })];
    expect(lines(reconcile(input(observed, { slots: 1 })))).toEqual(['drain newer duplicate']);
  });

  it('drains every duplicate but the oldest when there are three', () => {
    const observed = [
      running(1, { id: 'b', createdAt: 2 }),
      running(1, { id: 'a', createdAt: 1 }),
      running(1, { id: 'c', createdAt: 3 }),
    ];
    expect(lines(reconcile(input(observed, { slots: 2 })))).toEqual([
      'create 0',
      'drain b duplicate',
      'drain c duplicate',
    ]);
  });

  it('keeps the kept one on the next pass, once the duplicate drains (the decision does not flip)', () => {
    const observed = [
      running(0, { id: 'older', createdAt: 1000 }),
      running(0, { id: 'newer', createdAt: 2000, draining: true }),
    ];
    expect(lines(reconcile(input(observed, { slots: 1 })))).toEqual([]);
  });

  it('breaks a tie in start time the same way on every pass', () => {
    const a = running(0, { id: 'a', createdAt: 1000 });
    const b = running(0, { id: 'b', createdAt: 1000 });
    const first = reconcile(input([a, b], { slots: 1 }));
    const second = reconcile(input([b, a], { slots: 1 }));
    expect(lines(first)).toEqual(lines(second));
    expect(first).toHaveLength(1);
  });

  it('drains an undrained newcomer on an index whose older pilot is draining', () => {
    const observed = [
      running(0, { id: 'old', createdAt: 1000, draining: true }),
      running(0, { id: 'new', createdAt: 2000 }),
    ];
    expect(lines(reconcile(input(observed, { slots: 1 })))).toEqual(['create 1', 'drain new duplicate']);
  });

  it('keeps a draining pilot on its index: nothing new is made there until it exits', () => {
    expect(lines(reconcile(input([running(0, { draining: true })], { slots: 1 })))).toEqual(['create 1']);
    expect(lines(reconcile(input([running(0, { draining: true })], { slots: 1, indexLimit: 1 })))).toEqual([]);
    // Once it has exited, its index is free again.
    expect(lines(reconcile(input([exited(0)], { slots: 1, indexLimit: 1 })))).toEqual(['remove exited0 exited']);
    expect(lines(reconcile(input([], { slots: 1, indexLimit: 1 })))).toEqual(['create 0']);
  });

  it('takes a running duplicate before a never-started one is even considered (that one is just removed)', () => {
    const observed = [running(0), created(0, { id: 'stray' })];
    expect(lines(reconcile(input(observed, { slots: 1 })))).toEqual(['remove stray never-started']);
  });
});

describe('reconcile: template changes roll over, never killing a job', () => {
  it('drains pilots of an older template and makes new ones only on free indices', () => {
    const observed = [running(0, { templateHash: OLD }), running(1, { templateHash: OLD })];
    const actions = reconcile(input(observed, { slots: 2, indexLimit: 2 }));
    expect(lines(actions)).toEqual(['drain s0 template', 'drain s1 template']);
    expect(actions.some((a) => a.kind === 'remove')).toBe(false);
  });

  it('starts new pilots beside draining ones when more indices are allowed', () => {
    const observed = [running(0, { templateHash: OLD }), running(1)];
    expect(lines(reconcile(input(observed, { slots: 2 })))).toEqual(['create 2', 'drain s0 template']);
  });

  it('does not drain an old pilot twice', () => {
    expect(
      lines(reconcile(input([running(0, { templateHash: OLD, draining: true })], { slots: 1, indexLimit: 1 }))),
    ).toEqual([]);
  });

  it('makes the new template on an old pilot’s index once it has exited and been removed', () => {
    const observed = [exited(0, { templateHash: OLD }), running(1)];
    expect(lines(reconcile(input(observed, { slots: 2, indexLimit: 2 })))).toEqual(['remove exited0 exited']);
    expect(lines(reconcile(input([running(1)], { slots: 2, indexLimit: 2 })))).toEqual(['create 0']);
  });
});

describe('reconcile: the factory draining', () => {
  it('drains every running pilot, makes nothing, removes what exited without replacing it', () => {
    const observed = [running(0), running(1, { templateHash: OLD }), running(2, { draining: true }), exited(3)];
    expect(lines(reconcile(input(observed, { slots: 5, draining: true })))).toEqual([
      'drain s0 factory-drain',
      'drain s1 factory-drain',
      'remove exited3 exited',
    ]);
  });

  it('has nothing left to do once every pilot drains', () => {
    const observed = [running(0, { draining: true }), running(1, { draining: true })];
    expect(reconcile(input(observed, { slots: 2, draining: true }))).toEqual([]);
  });

  it('has nothing to do when nothing is there', () => {
    expect(reconcile(input([], { slots: 4, draining: true }))).toEqual([]);
  });
});

describe('reconcile: scale down picks victims that cost least', () => {
  it.each<[string, ObservedContainer[], number, string[]]>([
    [
      'idle pilots before busy ones, however old',
      [
        running(0, { heartbeat: busy(), createdAt: 300 }),
        running(1, { heartbeat: idle(), createdAt: 100 }),
        running(2, { heartbeat: busy(), createdAt: 200 }),
      ],
      2,
      ['drain s1 scale-down'],
    ],
    [
      'among busy pilots alike in index, the newest',
      [
        running(0, { heartbeat: busy(), createdAt: 100 }),
        running(2, { heartbeat: busy(), createdAt: 300 }),
        running(3, { heartbeat: busy(), createdAt: 200 }),
      ],
      2,
      ['drain s2 scale-down'],
    ],
    [
      'a pilot without a heartbeat yet is not idle',
      [running(0, { heartbeat: idle(), createdAt: 100 }), running(1, { createdAt: 300 })],
      1,
      ['drain s0 scale-down'],
    ],
    [
      'a starting pilot whose startd says Unclaimed is not idle yet',
      [
        running(0, { heartbeat: idle(), createdAt: 100 }),
        running(1, { heartbeat: heartbeat({ phase: 'starting' }), createdAt: 300 }),
      ],
      1,
      ['drain s0 scale-down'],
    ],
    [
      'at equal cost, an index at or above N first, even if older',
      [running(0, { createdAt: 300 }), running(1, { createdAt: 200 }), running(5, { createdAt: 100 })],
      2,
      ['drain s5 scale-down'],
    ],
    [
      'idle beats the index rule',
      [running(0, { heartbeat: idle() }), running(4, { heartbeat: busy() })],
      1,
      ['drain s0 scale-down'],
    ],
    [
      'at equal cost and start, the highest index',
      [running(0, { createdAt: 100 }), running(1, { createdAt: 100 }), running(2, { createdAt: 100 })],
      1,
      ['drain s1 scale-down', 'drain s2 scale-down'],
    ],
    [
      'more victims than idle pilots: the idle ones, then the newest busy ones',
      [
        running(0, { heartbeat: idle(), createdAt: 400 }),
        running(1, { heartbeat: busy(), createdAt: 100 }),
        running(2, { heartbeat: busy(), createdAt: 300 }),
        running(3, { heartbeat: busy(), createdAt: 200 }),
      ],
      1,
      ['drain s0 scale-down', 'drain s2 scale-down', 'drain s3 scale-down'],
    ],
    ['to zero: every pilot', [running(0), running(1)], 0, ['drain s0 scale-down', 'drain s1 scale-down']],
  ])('%s', (_name, observed, slots, expected) => {
    expect(lines(reconcile(input(observed, { slots })))).toEqual(expected);
  });

  it('makes nothing while it scales down', () => {
    const actions = reconcile(input([running(0), running(1), running(2), exited(3)], { slots: 1 }));
    expect(actions.filter((a) => a.kind === 'create')).toEqual([]);
  });

  it('does not count pilots draining for a scale-down as surplus again', () => {
    const observed = [running(0), running(1, { draining: true }), running(2, { draining: true })];
    expect(reconcile(input(observed, { slots: 1 }))).toEqual([]);
  });

  it('reuses the lowest free indices when it scales up again', () => {
    // 4 → 2 took 1 and 3 (exited since); back to 4: 1 and 3 again, not 4 and 5.
    const observed = [running(0), running(2)];
    expect(lines(reconcile(input(observed, { slots: 4 })))).toEqual(['create 1', 'create 3']);
  });

  it('scales up past indices still held by pilots draining from a scale-down', () => {
    const observed = [running(0), running(1, { draining: true })];
    expect(lines(reconcile(input(observed, { slots: 3 })))).toEqual(['create 2', 'create 3']);
  });
});

describe('reconcile: scale --force stops the victims at once', () => {
  it.each<[string, ObservedContainer[], Parameters<typeof input>[1], string[]]>([
    [
      'the same victims as a drain would take, idle first, stopped instead',
      [
        running(0, { heartbeat: busy(), createdAt: 300 }),
        running(1, { heartbeat: idle(), createdAt: 100 }),
        running(2, { heartbeat: busy(), createdAt: 200 }),
      ],
      { slots: 1, forceScaleDown: true },
      ['stop s1 scale-down', 'stop s2 scale-down'],
    ],
    [
      'to zero: every pilot',
      [running(0), running(1)],
      { slots: 0, forceScaleDown: true },
      ['stop s0 scale-down', 'stop s1 scale-down'],
    ],
    [
      'a never-started container is still just removed',
      [running(0), running(1), created(2)],
      { slots: 1, forceScaleDown: true },
      ['remove created2 never-started', 'stop s1 scale-down'],
    ],
    [
      'an exited one is still just removed',
      [running(0), exited(1)],
      { slots: 0, forceScaleDown: true },
      ['remove exited1 exited', 'stop s0 scale-down'],
    ],
    [
      'not a pilot already draining or being stopped',
      [running(0), running(1, { draining: true })],
      { slots: 0, forceScaleDown: true },
      ['stop s0 scale-down'],
    ],
    [
      'a duplicate still drains: it is not a scale-down',
      [running(0, { id: 'a', createdAt: 1 }), running(0, { id: 'b', createdAt: 2 })],
      { slots: 1, forceScaleDown: true },
      ['drain b duplicate'],
    ],
    [
      'an old template still drains after its job',
      [running(0, { templateHash: OLD })],
      { slots: 1, indexLimit: 1, forceScaleDown: true },
      ['drain s0 template'],
    ],
    [
      'a factory drain still drains',
      [running(0), running(1)],
      { slots: 2, draining: true, forceScaleDown: true },
      ['drain s0 factory-drain', 'drain s1 factory-drain'],
    ],
    ['no surplus: nothing stopped', [running(0), running(1)], { slots: 2, forceScaleDown: true }, []],
    ['no surplus: the missing slots are made', [running(0)], { slots: 2, forceScaleDown: true }, ['create 1']],
    [
      'creates in flight: only the running surplus beyond the slots',
      [running(0), running(1), running(2)],
      { slots: 2, forceScaleDown: true, creating: [3] },
      ['stop s2 scale-down'],
    ],
  ])('%s', (_name, observed, overrides, expected) => {
    expect(lines(reconcile(input(observed, overrides)))).toEqual(expected);
  });

  it.each<[string, boolean | undefined]>([
    ['forceScaleDown: false', false],
    ['forceScaleDown unset', undefined],
  ])('drains instead with %s', (_name, forceScaleDown) => {
    const observed = [running(0), running(1, { heartbeat: idle() }), created(2)];
    const overrides = forceScaleDown === undefined ? { slots: 1 } : { slots: 1, forceScaleDown };
    expect(lines(reconcile(input(observed, overrides)))).toEqual([
      'drain s1 scale-down',
      'remove created2 never-started',
    ]);
  });

  it('stops each victim once: once stopped (draining), the next pass has nothing to do', () => {
    const before = input([running(0), running(1), running(2)], { slots: 1, forceScaleDown: true });
    const first = reconcile(before);
    expect(lines(first)).toEqual(['stop s1 scale-down', 'stop s2 scale-down']);
    const stopping = before.observed.map((c) =>
      first.some((a) => a.kind === 'stop' && a.id === c.id) ? { ...c, draining: true } : c,
    );
    expect(reconcile({ ...before, observed: stopping })).toEqual([]);
  });
});

describe('reconcile: crash-loop backoff', () => {
  it.each<[string, number, string[]]>([
    ['in the future: not made, and its place is not given to another index', NOW + 1, ['create 0', 'create 2']],
    ['now: made', NOW, ['create 0', 'create 1', 'create 2']],
    ['in the past: made', NOW - 5000, ['create 0', 'create 1', 'create 2']],
  ])('a slot whose retry time is %s', (_name, retryAt, expected) => {
    expect(lines(reconcile(input([], { slots: 3, retryAt: new Map([[1, retryAt]]) })))).toEqual(expected);
  });

  it('ignores the backoff of a slot index it does not need', () => {
    expect(lines(reconcile(input([], { slots: 2, retryAt: new Map([[5, NOW + 1000]]) })))).toEqual([
      'create 0',
      'create 1',
    ]);
  });

  it('still removes an exited pilot whose slot is in backoff', () => {
    expect(lines(reconcile(input([exited(0)], { slots: 1, retryAt: new Map([[0, NOW + 1000]]) })))).toEqual([
      'remove exited0 exited',
    ]);
  });
});

describe('reconcile: pinned cores cap the indices', () => {
  it.each<[string, ObservedContainer[], number, number, string[]]>([
    ['more slots than cores: only the cores', [], 4, 2, ['create 0', 'create 1']],
    ['no core free: nothing', [running(0), running(1, { draining: true })], 2, 2, []],
    ['a free core below the limit is used', [running(1)], 3, 2, ['create 0']],
    ['no cores at all: nothing', [], 2, 0, []],
  ])('%s', (_name, observed, slots, indexLimit, expected) => {
    expect(lines(reconcile(input(observed, { slots, indexLimit })))).toEqual(expected);
  });

  it('keeps an adopted pilot above the limit rather than draining it', () => {
    expect(reconcile(input([running(0), running(7)], { slots: 2, indexLimit: 2 }))).toEqual([]);
  });
});

describe('reconcile: idempotence', () => {
  // Each case: the world before; applying what reconcile asks and asking again must give nothing new.
  const cases: Array<[string, ReconcileInput]> = [
    ['empty → fill', input([], { slots: 4 })],
    ['gaps', input([running(1), running(3)], { slots: 5 })],
    ['exited and never started', input([exited(0), created(1), running(2)], { slots: 3 })],
    [
      'duplicates',
      input(
        [running(0, { id: 'a' }), running(0, { id: 'b', createdAt: 5000 }), running(0, { id: 'c', createdAt: 6000 })],
        { slots: 2 },
      ),
    ],
    [
      'duplicates beside a draining one',
      input([running(0, { id: 'd', draining: true, createdAt: 1 }), running(0, { id: 'u', createdAt: 2 })], {
        slots: 1,
      }),
    ],
    [
      'template change, pinned',
      input([running(0, { templateHash: OLD }), running(1, { templateHash: OLD })], { slots: 2, indexLimit: 2 }),
    ],
    ['template change, unpinned', input([running(0, { templateHash: OLD }), running(1)], { slots: 3 })],
    ['factory draining', input([running(0), running(1, { draining: true }), exited(2)], { slots: 3, draining: true })],
    [
      'scale down',
      input([running(0, { heartbeat: busy() }), running(1, { heartbeat: idle() }), running(2), running(3)], {
        slots: 1,
      }),
    ],
    ['scale up', input([running(0), running(1, { draining: true })], { slots: 4 })],
    ['backoff', input([exited(1)], { slots: 3, retryAt: new Map([[1, NOW + 1000]]) })],
    ['pinned limit', input([running(1)], { slots: 6, indexLimit: 3 })],
  ];

  it.each(cases)('%s', (_name, before) => {
    const first = reconcile(before);
    const after = applyActions(before.observed, first, before.desired.templateHash, before.now);
    // The only thing left: making the slots whose old container was just removed (it held the name until then).
    const second = reconcile({ ...before, observed: after });
    const freed = first.filter((a) => a.kind === 'remove').map((a) => `create ${a.slot}`);
    for (const action of lines(second)) expect(freed).toContain(action);
    const last = applyActions(after, second, before.desired.templateHash, before.now);
    expect(reconcile({ ...before, observed: last })).toEqual([]);
  });
});

describe('reconcile: random starting states converge', () => {
  interface World {
    observed: ObservedContainer[];
    creating: Set<number>;
    retryAt: Map<number, number>;
    now: number;
  }

  function randomCase(seed: number): { desired: ReconcileInput['desired']; world: World } {
    const random = seededRandom(seed);
    const int = (n: number) => Math.floor(random() * n);
    const slots = int(21);
    const indexLimit = random() < 0.7 ? INF : int(25);
    const deadline = random() < 0.3 ? { deadline: NOW + int(3) * 60_000 } : {};
    const desired = { slots, draining: random() < 0.15, templateHash: CURRENT, indexLimit, ...deadline };
    const observed: ObservedContainer[] = [];
    for (let i = int(26); i > 0; i--) {
      const slot = int(25);
      const roll = random();
      const phase = roll < 0.6 ? 'running' : roll < 0.75 ? 'created' : 'exited';
      observed.push({
        id: `r${observed.length}`,
        slot,
        templateHash: random() < 0.7 ? CURRENT : OLD,
        phase,
        createdAt: 1000 + int(50),
        draining: phase === 'running' && random() < 0.2,
        ...(phase === 'running' && random() < 0.5 ? { heartbeat: random() < 0.5 ? idle() : busy() } : {}),
      });
    }
    // Creates in flight: only on indices no running container holds (the engine's names are unique).
    const held = new Set(observed.filter((c) => c.phase === 'running').map((c) => c.slot));
    const creating = new Set<number>();
    for (let slot = 0; slot < 25; slot++) if (!held.has(slot) && random() < 0.08) creating.add(slot);
    const retryAt = new Map<number, number>();
    for (let slot = 0; slot < 25; slot++) if (random() < 0.1) retryAt.set(slot, NOW + int(20_000) - 5_000);
    return { desired, world: { observed, creating, retryAt, now: NOW } };
  }

  /** What each pass may and may not ask for, whatever the world looks like. */
  function checkStep(desired: ReconcileInput['desired'], world: World, actions: Action[]): void {
    const byId = new Map(world.observed.map((c) => [c.id, c]));
    const ids = actions.filter((a) => a.kind !== 'create').map((a) => (a as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const creates = actions.filter((a) => a.kind === 'create').map((a) => a.slot);
    expect(new Set(creates).size).toBe(creates.length);
    const runningNow = world.observed.filter((c) => c.phase === 'running');
    const serving = runningNow.filter((c) => !c.draining && c.templateHash === desired.templateHash);
    let scaleDowns = 0;
    for (const action of actions) {
      if (action.kind === 'create') {
        expect(desired.draining).toBe(false);
        expect(action.slot).toBeLessThan(desired.indexLimit);
        // Not on an index a container still holds, running or on its way out.
        expect(world.observed.some((c) => c.slot === action.slot)).toBe(false);
        expect(world.creating.has(action.slot)).toBe(false);
        expect(world.retryAt.get(action.slot) ?? 0).toBeLessThanOrEqual(world.now);
        continue;
      }
      const c = byId.get(action.id)!;
      expect(c).toBeDefined();
      if (action.kind === 'remove') {
        // Never a running pilot; a created one only when no create of its slot is in flight.
        expect(c.phase).not.toBe('running');
        if (c.phase === 'created') expect(world.creating.has(c.slot)).toBe(false);
        continue;
      }
      expect(c.phase).toBe('running');
      if (action.kind === 'deadline') {
        // Only a pilot already draining has its deadline brought forward, and only to the drain's.
        expect(c.draining).toBe(true);
        expect(action.deadline).toBe(desired.deadline);
        continue;
      }
      expect(c.draining).toBe(false);
      if (action.reason === 'template') expect(c.templateHash).not.toBe(desired.templateHash);
      if (action.reason === 'duplicate') expect(runningNow.filter((o) => o.slot === c.slot).length).toBeGreaterThan(1);
      if (action.reason === 'factory-drain') expect(desired.draining).toBe(true);
      if (action.reason === 'scale-down') scaleDowns++;
    }
    // A scale-down never takes more than the running surplus beyond the slots.
    const servingSlots = new Set(serving.map((c) => c.slot));
    expect(scaleDowns).toBeLessThanOrEqual(Math.max(0, servingSlots.size - desired.slots));
  }

  /** Runs passes, completing creates in flight, letting drained pilots exit and waiting out backoff, until quiet. */
  function converge(desired: ReconcileInput['desired'], world: World): { world: World; passes: number } {
    for (let pass = 1; pass <= 60; pass++) {
      const actions = reconcile({ desired, ...world });
      checkStep(desired, world, actions);
      if (world.creating.size > 0) {
        // The creates in flight finish: each is a running pilot of the template, in place of its created container.
        const done = [...world.creating].map((slot) => running(slot, { id: `inflight${slot}`, createdAt: world.now }));
        const observed = applyActions(world.observed, actions, desired.templateHash, world.now);
        world = {
          ...world,
          observed: [...observed.filter((c) => !(c.phase === 'created' && world.creating.has(c.slot))), ...done],
          creating: new Set(),
        };
        continue;
      }
      if (actions.length) {
        world = { ...world, observed: applyActions(world.observed, actions, desired.templateHash, world.now) };
        continue;
      }
      const drainingNow = world.observed.filter((c) => c.phase === 'running' && c.draining);
      if (drainingNow.length) {
        // Drained pilots finish their jobs and exit.
        world = {
          ...world,
          observed: world.observed.map((c) => (c.draining ? { ...c, phase: 'exited' as const } : c)),
        };
        continue;
      }
      const waiting = [...world.retryAt.values()].filter((t) => t > world.now);
      if (waiting.length) {
        world = { ...world, now: Math.max(...waiting) };
        continue;
      }
      return { world, passes: pass };
    }
    throw new Error('did not converge in 60 passes');
  }

  const seeds = Array.from({ length: 200 }, (_, i) => i + 1);

  it.each(seeds)('seed %i', (seed) => {
    const { desired, world } = randomCase(seed);
    const { world: end } = converge(desired, world);
    const runningAtEnd = end.observed.filter((c) => c.phase === 'running');
    // Nothing but running pilots is left, and every one serves the current template.
    expect(end.observed.every((c) => c.phase === 'running' && !c.draining)).toBe(true);
    expect(runningAtEnd.every((c) => c.templateHash === CURRENT)).toBe(true);
    // At most one pilot per index.
    const slotsInUse = runningAtEnd.map((c) => c.slot);
    expect(new Set(slotsInUse).size).toBe(slotsInUse.length);
    if (desired.draining) {
      expect(runningAtEnd).toEqual([]);
    } else if (desired.slots <= desired.indexLimit) {
      expect(runningAtEnd).toHaveLength(desired.slots);
    } else {
      expect(runningAtEnd.length).toBeLessThanOrEqual(desired.slots);
      expect(runningAtEnd.length).toBeGreaterThanOrEqual(desired.indexLimit);
    }
  });

  it('keeps every serving pilot of the current template when nothing asks for a change', () => {
    for (const seed of seeds) {
      const random = seededRandom(seed);
      const count = Math.floor(random() * 20);
      const observed = Array.from({ length: count }, (_, i) =>
        running(i, { heartbeat: random() < 0.5 ? idle() : busy() }),
      );
      expect(reconcile(input(observed, { slots: count }))).toEqual([]);
    }
  });
});

describe('reconcile: drains with a deadline', () => {
  const BY = NOW + 45 * 60_000;

  it("drains every pilot with the drain's deadline; a never-started one is just removed", () => {
    const actions = reconcile(input([running(0), running(1), created(2)], { slots: 3, draining: true, deadline: BY }));
    expect(lines(actions)).toEqual([
      `drain s0 factory-drain by ${BY}`,
      `drain s1 factory-drain by ${BY}`,
      'remove created2 never-started',
    ]);
  });

  it('gives the scale-down victims the deadline, and the kept pilots none', () => {
    const actions = reconcile(input([running(0), running(1), running(2)], { slots: 1, deadline: BY }));
    expect(lines(actions)).toEqual([`drain s1 scale-down by ${BY}`, `drain s2 scale-down by ${BY}`]);
  });

  it("brings an earlier drain's later (or missing) deadline forward, and leaves an earlier one alone", () => {
    const observed = [
      running(0, { draining: true }),
      running(1, { draining: true, deadline: BY + 1000 }),
      running(2, { draining: true, deadline: BY - 1000 }),
      exited(3),
    ];
    expect(lines(reconcile(input(observed, { slots: 4, draining: true, deadline: BY })))).toEqual([
      `deadline s0 by ${BY}`,
      `deadline s1 by ${BY}`,
      'remove exited3 exited',
    ]);
  });

  it('converges: once the deadlines are written the next pass has nothing more to say to the pilots', () => {
    const first = input([running(0), running(1, { draining: true })], { slots: 2, draining: true, deadline: BY });
    const after = applyActions(first.observed, reconcile(first), CURRENT, NOW);
    expect(reconcile({ ...first, observed: after })).toEqual([]);
  });

  it('drains without a deadline as before when none is given', () => {
    expect(lines(reconcile(input([running(0)], { slots: 1, draining: true })))).toEqual(['drain s0 factory-drain']);
  });
});

describe('reconcile: unhealthy slots', () => {
  // NOW is in ms; the heartbeat's unhealthySince in seconds.
  const sick = (slot: number, forSeconds: number) =>
    running(slot, {
      heartbeat: heartbeat({
        healthy: false,
        unhealthySince: Math.floor(NOW / 1000) - forSeconds,
        unhealthyReason: 'repository /cvmfs/x: Transport endpoint is not connected',
      }),
    });

  it.each<[string, ObservedContainer[], Parameters<typeof input>[1], string[]]>([
    [
      'unhealthy past the limit: drained (its job finishes) and replaced on a free index, as a template change is',
      [sick(0, 600), running(1)],
      { unhealthyDrainSeconds: 600 },
      ['create 2', 'drain s0 unhealthy'],
    ],
    ['unhealthy for less: kept', [sick(0, 599), running(1)], { unhealthyDrainSeconds: 600 }, []],
    ['no limit: kept however long', [sick(0, 86_400), running(1)], {}, []],
  ])('%s', (_name, observed, overrides, expected) => {
    expect(lines(reconcile(input(observed, { slots: 2, ...overrides })))).toEqual(expected);
  });

  it('replaces a drained unhealthy slot once it has exited', () => {
    const drained = { ...sick(0, 900), draining: true, phase: 'exited' as const, exitCode: 0 };
    expect(lines(reconcile(input([drained, running(1)], { slots: 2, unhealthyDrainSeconds: 600 })))).toEqual([
      expect.stringMatching(/^remove .* exited$/),
    ]);
    expect(lines(reconcile(input([running(1)], { slots: 2, unhealthyDrainSeconds: 600 })))).toEqual(['create 0']);
  });
});

describe('reconcile: black holes', () => {
  const GUARD = { blackhole: { jobs: 3, seconds: 30 } };
  const ended = (slot: number, ...jobEnds: [number, number][]) => running(slot, { heartbeat: heartbeat({ jobEnds }) });

  it.each<[string, ObservedContainer[], Parameters<typeof input>[1], string[]]>([
    [
      'its last 3 jobs each failed within 30 s: drained and replaced on a free index',
      [ended(0, [400, 0], [2, 1], [5, 1], [29, 137]), running(1)],
      GUARD,
      ['create 2', 'drain s0 blackhole'],
    ],
    ['one of the last 3 succeeded: kept', [ended(0, [2, 1], [2, 0], [2, 1]), running(1)], GUARD, []],
    ['one of the last 3 ran 30 s: kept', [ended(0, [2, 1], [30, 1], [2, 1]), running(1)], GUARD, []],
    ['only 2 jobs yet, both failed at once: kept', [ended(0, [1, 1], [1, 1]), running(1)], GUARD, []],
    ['no guard: kept however often its jobs fail', [ended(0, [1, 1], [1, 1], [1, 1]), running(1)], {}, []],
  ])('%s', (_name, observed, overrides, expected) => {
    expect(lines(reconcile(input(observed, { slots: 2, ...overrides })))).toEqual(expected);
  });

  it('does not drain again a black hole that drains already', () => {
    const draining = { ...ended(0, [1, 1], [1, 1], [1, 1]), draining: true };
    expect(lines(reconcile(input([draining, running(1)], { slots: 2, ...GUARD })))).toEqual(['create 2']);
  });
});
