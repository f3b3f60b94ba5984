import { describe, expect, it } from '@jest/globals';
import { parseCondorConfig } from './condor-config-parser.js';

// The helper the config tests rely on: if it were wrong, they could pass on a wrong config.
describe('parseCondorConfig (test helper)', () => {
  it('reads KEY = value, trimming the value, and skips comments and blank lines', () => {
    const config = parseCondorConfig('# a comment\n\nNUM_CPUS = 1\n  START   =   True && False  \n');
    expect(config.get('NUM_CPUS')).toBe('1');
    expect(config.get('START')).toBe('True && False');
    expect(config.keys()).toEqual(['NUM_CPUS', 'START']);
  });

  it('treats names case-insensitively, as HTCondor does', () => {
    const config = parseCondorConfig('Num_Cpus = 2\n');
    expect(config.get('NUM_CPUS')).toBe('2');
    expect(config.get('num_cpus')).toBe('2');
    expect(config.has('nUm_CpUs')).toBe(true);
  });

  it('lets a later assignment win, within a text and across texts', () => {
    const config = parseCondorConfig('A = 1\nA = 2\n', 'a = 3\n');
    expect(config.get('A')).toBe('3');
  });

  it("expands a knob's own $(KEY) to its previous value (empty when unset), leaving others as written", () => {
    const config = parseCondorConfig(
      'STARTD_ATTRS = $(STARTD_ATTRS) A\n',
      'STARTD_ATTRS = $(startd_attrs) B $(OTHER)\n',
    );
    expect(config.get('STARTD_ATTRS')).toBe('A B $(OTHER)');
  });

  it('records metaknobs and includes without taking them for assignments', () => {
    const config = parseCondorConfig(
      'include : /etc/condor/condor_config\nuse SECURITY : recommended_v9_0\nuse role:Execute, Extra\n',
    );
    expect(config.includes).toEqual(['/etc/condor/condor_config']);
    expect(config.uses).toEqual(['SECURITY:recommended_v9_0', 'ROLE:Execute', 'ROLE:Extra']);
    expect(config.keys()).toEqual([]);
  });

  it('joins a line ending in a backslash with the next one', () => {
    expect(parseCondorConfig('START = A \\\n  && B\n').get('START')).toBe('A   && B');
  });

  it('keeps an empty value (a knob set to nothing)', () => {
    const config = parseCondorConfig('LOCAL_CONFIG_FILE =\n');
    expect(config.has('LOCAL_CONFIG_FILE')).toBe(true);
    expect(config.get('LOCAL_CONFIG_FILE')).toBe('');
  });

  it('throws on a line that is no HTCondor config, naming the line', () => {
    expect(() => parseCondorConfig('A = 1\nthis is not config\n')).toThrow(/line 2/);
    expect(() => parseCondorConfig('= 1\n')).toThrow(/line 1/);
  });

  it('answers undefined for a knob never set', () => {
    expect(parseCondorConfig('A = 1\n').get('B')).toBeUndefined();
  });
});
