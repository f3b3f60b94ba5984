import { describe, expect, it } from '@jest/globals';
import { ShutdownDrain } from './shutdown-drain.js';

function drain() {
  const calls: [boolean, number?][] = [];
  const subject = new ShutdownDrain({
    setDraining: (draining, deadline) => calls.push(deadline === undefined ? [draining] : [draining, deadline]),
  });
  return { calls, subject };
}

describe('ShutdownDrain', () => {
  it('drains with the shutdown time as deadline, follows a new time, and resumes when it is withdrawn', () => {
    const { calls, subject } = drain();
    subject.follow(5_000);
    subject.follow(9_000);
    subject.follow(undefined);
    expect(calls).toEqual([[true, 5_000], [true, 9_000], [false]]);
  });

  it('resumes nothing it did not drain', () => {
    const { calls, subject } = drain();
    subject.follow(undefined);
    expect(calls).toEqual([]);
  });

  it('leaves a drain or resume by hand alone when the shutdown is withdrawn', () => {
    const { calls, subject } = drain();
    subject.follow(5_000);
    subject.overrideByHand();
    subject.follow(undefined);
    expect(calls).toEqual([[true, 5_000]]);
  });
});
