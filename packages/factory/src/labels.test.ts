import { describe, expect, it } from '@jest/globals';
import { LABELS, slotContainerName, slotLabels, slotOf } from './labels.js';
import { FACTORY_VERSION } from './version.js';

describe('labels', () => {
  it('puts every label under one reverse-DNS prefix', () => {
    for (const label of Object.values(LABELS)) expect(label).toMatch(/^org\.docker-cernvm\.[a-z-]+$/);
  });

  it('labels a slot with its factory, index, template hash and the factory version', () => {
    expect(slotLabels('site-a', 12, 'abcdef012345')).toEqual({
      'org.docker-cernvm.factory': 'site-a',
      'org.docker-cernvm.slot': '12',
      'org.docker-cernvm.template-hash': 'abcdef012345',
      'org.docker-cernvm.version': FACTORY_VERSION,
    });
  });

  it('names slot i <factory>-slot-<i>', () => {
    expect(slotContainerName('site-a', 0)).toBe('site-a-slot-0');
  });

  it.each<[Record<string, string> | undefined, number | undefined]>([
    [{ 'org.docker-cernvm.slot': '0' }, 0],
    [{ 'org.docker-cernvm.slot': '4095' }, 4095],
    [{ 'org.docker-cernvm.slot': '007' }, 7],
    [{ 'org.docker-cernvm.slot': '' }, undefined],
    [{ 'org.docker-cernvm.slot': '-1' }, undefined],
    [{ 'org.docker-cernvm.slot': '1.5' }, undefined],
    [{ 'org.docker-cernvm.slot': ' 3' }, undefined],
    [{ 'org.docker-cernvm.slot': '123456' }, undefined],
    [{ 'org.docker-cernvm.slot': 'x' }, undefined],
    [{}, undefined],
    [undefined, undefined],
  ])('reads the slot index from %j as %s', (labels, slot) => {
    expect(slotOf(labels)).toBe(slot);
  });
});
