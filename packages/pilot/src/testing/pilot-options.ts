import { checkPilotOptions, type PilotOptions, type PilotOptionsInput } from '../options.js';

/** The smallest valid options (a local collector, so host mode needs no interface), with overrides. */
export const MINIMAL_INPUT = { collector: '127.0.0.1', trustDomain: 'pool.example.org', slotName: 'slot1' } as const;

export function testOptions(overrides: Partial<PilotOptionsInput> = {}): PilotOptions {
  return checkPilotOptions({ ...MINIMAL_INPUT, ...overrides });
}
