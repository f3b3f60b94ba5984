import { describe, expect, it } from '@jest/globals';
import {
  FORMER_REPOSITORY_LABEL,
  LABELS,
  pairFromLabels,
  placeholderBuildContext,
  placeholderLabels,
} from './placeholder.js';

describe('placeholder', () => {
  it('builds a byte-identical context for the same pair and a different one per pair', async () => {
    const a = await placeholderBuildContext({ repository: 'cernvm-prod.cern.ch' });
    expect(await placeholderBuildContext({ repository: 'cernvm-prod.cern.ch' })).toEqual(a);
    expect(await placeholderBuildContext({ repository: 'cernvm-prod.cern.ch', snapshot: 's1' })).not.toEqual(a);
    expect(await placeholderBuildContext({ repository: 'cernvm-devel.cern.ch' })).not.toEqual(a);
  });

  it('reads back the pair it labels, and nothing from foreign labels', () => {
    const pair = { repository: 'cernvm-prod.cern.ch', snapshot: 'cernvm-system-4.7.1.0' };
    expect(pairFromLabels(placeholderLabels(pair))).toEqual(pair);
    expect(pairFromLabels(placeholderLabels({ repository: 'x.cern.ch' }))).toEqual({ repository: 'x.cern.ch' });
    expect(pairFromLabels({ [LABELS.repository]: 'x.cern.ch' })).toBeUndefined();
    expect(pairFromLabels(null)).toBeUndefined();
  });

  it('writes the repository label and still reads the one placeholders registered earlier carry', () => {
    expect(placeholderLabels({ repository: 'x.cern.ch' })).toEqual({
      'org.docker-cernvm.placeholder': '1',
      'org.docker-cernvm.repository': 'x.cern.ch',
      'org.docker-cernvm.snapshot': '',
    });
    const earlier = { [LABELS.placeholder]: '1', [FORMER_REPOSITORY_LABEL]: 'x.cern.ch', [LABELS.snapshot]: 's1' };
    expect(FORMER_REPOSITORY_LABEL).toBe('org.docker-cernvm.branch');
    expect(pairFromLabels(earlier)).toEqual({ repository: 'x.cern.ch', snapshot: 's1' });
  });
});
