import { beforeEach, describe, expect, it } from '@jest/globals';
import { TokenKeeper, type TokenFiles } from './token-keeper.js';
import { FakeClock } from './testing/fake-clock.js';

/** A token file in memory: its content and whether HTCondor would take it; the copy the slots see. */
class FakeTokenFiles implements TokenFiles {
  content: string | undefined = 'token-1';
  problem: string | undefined;
  version = 1;
  installed: string | undefined;

  fingerprint(): string | undefined {
    return this.content === undefined ? undefined : `v${this.version}`;
  }

  async check(file: string): Promise<void> {
    if (this.content === undefined) throw new Error(`no pool token at ${file}`);
    if (this.problem) throw new Error(this.problem);
  }

  install(): boolean {
    const changed = this.installed !== this.content;
    this.installed = this.content;
    return changed;
  }

  replace(content: string, problem?: string): void {
    this.content = content;
    this.problem = problem;
    this.version += 1;
  }
}

const INTERVAL = 10_000;
let clock: FakeClock;
let files: FakeTokenFiles;
let keeper: TokenKeeper;
let said: string[];

beforeEach(() => {
  clock = new FakeClock();
  files = new FakeTokenFiles();
  keeper = new TokenKeeper({ source: () => '/etc/pool.token', files, clock, intervalMs: INTERVAL });
  said = [];
  keeper.events.on('rotated', () => said.push('rotated'));
  keeper.events.on('refused', (problem) => said.push(`refused: ${problem}`));
  keeper.events.on('recovered', () => said.push('recovered'));
});

describe('TokenKeeper', () => {
  it('gives the slots the token it starts with, without calling it a rotation', async () => {
    await keeper.start();
    expect(files.installed).toBe('token-1');
    expect(keeper.state()).toEqual({ usable: true, installedAt: clock.now(), rotations: 0 });
    expect(said).toEqual([]);
    keeper.close();
  });

  it('hands a new token at the same path to the slots within one interval', async () => {
    await keeper.start();
    files.replace('token-2');
    await clock.advance(INTERVAL - 1);
    expect(files.installed).toBe('token-1');
    await clock.advance(1);
    expect(files.installed).toBe('token-2');
    expect(keeper.state()).toMatchObject({ usable: true, rotations: 1, installedAt: clock.now() });
    expect(said).toEqual(['rotated']);
    keeper.close();
  });

  it('counts no rotation when the file changed but its content did not (a touch)', async () => {
    await keeper.start();
    files.version += 1;
    await clock.advance(INTERVAL);
    expect(keeper.state().rotations).toBe(0);
    expect(said).toEqual([]);
    keeper.close();
  });

  it('refuses a token that goes missing or unsafe, keeps the last good copy, says so once, and recovers', async () => {
    await keeper.start();
    files.replace('token-2', 'the pool token /etc/pool.token has mode 644: others can read it; chmod 600 it');
    await clock.advance(INTERVAL);
    await clock.advance(INTERVAL);
    expect(files.installed).toBe('token-1');
    expect(keeper.state()).toMatchObject({ usable: false, problem: expect.stringContaining('mode 644') });
    files.content = undefined;
    await clock.advance(INTERVAL);
    expect(keeper.state().problem).toBe('no pool token at /etc/pool.token');
    files.replace('token-3');
    await clock.advance(INTERVAL);
    expect(files.installed).toBe('token-3');
    expect(keeper.state()).toEqual({ usable: true, installedAt: clock.now(), rotations: 1 });
    expect(said).toEqual([
      'refused: the pool token /etc/pool.token has mode 644: others can read it; chmod 600 it',
      'refused: no pool token at /etc/pool.token',
      'recovered',
      'rotated',
    ]);
    keeper.close();
  });

  it('looks no more once closed', async () => {
    await keeper.start();
    keeper.close();
    files.replace('token-2');
    await clock.advance(INTERVAL * 3);
    expect(files.installed).toBe('token-1');
  });
});
