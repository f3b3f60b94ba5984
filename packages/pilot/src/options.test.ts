import { describe, expect, it } from '@jest/globals';
import { PilotError } from './errors.js';
import { checkOptionsFile, checkPilotOptions } from './options.js';
import { MINIMAL_INPUT } from './testing/pilot-options.js';

/** The error checkPilotOptions throws for these overrides (fails the test when it throws none). */
function refusal(overrides: Record<string, unknown>, source?: string): PilotError {
  try {
    checkPilotOptions({ ...MINIMAL_INPUT, ...overrides }, source);
  } catch (error) {
    if (error instanceof PilotError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(overrides)}`);
}

describe('checkPilotOptions defaults', () => {
  it('fills in everything but the collector, the trust domain and the slot name', () => {
    expect(checkPilotOptions(MINIMAL_INPUT)).toEqual({
      collector: { host: '127.0.0.1', port: 9618 },
      trustDomain: 'pool.example.org',
      uidDomain: 'pool.example.org',
      tokenFile: '/pilot/tokens.d/pool.token',
      pilotDir: '/pilot',
      slotName: 'slot1',
      cpus: 1,
      memoryMb: 'auto',
      diskMb: undefined,
      network: { mode: 'host', interface: '127.0.0.1' },
      idleShutdownSeconds: 0,
      maxLifetimeSeconds: 0,
      vacateSeconds: 30,
      heartbeatSeconds: 30,
      start: 'True',
      attributes: {},
      siteSnippets: [],
      jobEnvironment: {},
      executeDir: undefined,
      mounts: [],
      healthCheckSeconds: 60,
      healthMinFreeMb: 100,
    });
  });

  it('puts the default token under the pilot directory', () => {
    expect(checkPilotOptions({ ...MINIMAL_INPUT, pilotDir: '/srv/pilot' }).tokenFile).toBe(
      '/srv/pilot/tokens.d/pool.token',
    );
  });

  it('reads the collector port, and takes localhost as loopback', () => {
    const options = checkPilotOptions({ ...MINIMAL_INPUT, collector: 'localhost:9620' });
    expect(options.collector).toEqual({ host: 'localhost', port: 9620 });
    expect(options.network).toEqual({ mode: 'host', interface: '127.0.0.1' });
  });

  it('uses the given interface for a remote collector on the host network', () => {
    const options = checkPilotOptions({
      ...MINIMAL_INPUT,
      collector: 'cm.example.org',
      networkInterface: '192.0.2.10',
    });
    expect(options.network).toEqual({ mode: 'host', interface: '192.0.2.10' });
  });

  it('defaults the CCB address to the collector in bridge mode', () => {
    const options = checkPilotOptions({ ...MINIMAL_INPUT, collector: 'cm.example.org:9620', networkMode: 'bridge' });
    expect(options.network).toEqual({ mode: 'bridge', ccbAddress: 'cm.example.org:9620' });
  });

  it('keeps typed attributes and site snippets as given', () => {
    const options = checkPilotOptions({
      ...MINIMAL_INPUT,
      attributes: { Name_x: 'a', N: 1, B: false },
      siteSnippets: [{ name: 'site.conf', content: '' }],
    });
    expect(options.attributes).toEqual({ Name_x: 'a', N: 1, B: false });
    expect(options.siteSnippets).toEqual([{ name: 'site.conf', content: '' }]);
  });
});

describe('checkPilotOptions refuses bad input with one line naming the key', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a URL as collector', { collector: 'http://cm.example.org' }, 'collector'],
    ['a collector with a space', { collector: 'cm example.org' }, 'collector'],
    ['collector port 0', { collector: 'cm.example.org:0' }, 'collector'],
    ['collector port 70000', { collector: 'cm.example.org:70000' }, 'collector'],
    ['a collector with ;', { collector: 'cm;reboot' }, 'collector'],
    ['a collector with $(...)', { collector: '$(reboot)' }, 'collector'],
    ['a collector with a backquote', { collector: '`reboot`' }, 'collector'],
    ['a collector with a pipe', { collector: 'cm|x' }, 'collector'],
    ['an empty collector', { collector: '' }, 'collector'],
    ['slot name ../x', { slotName: '../x' }, 'slotName'],
    ['slot name "a b"', { slotName: 'a b' }, 'slotName'],
    ['slot name $(x)', { slotName: '$(x)' }, 'slotName'],
    ['a 64-character slot name', { slotName: 'a'.repeat(64) }, 'slotName'],
    ['trust domain "a b"', { trustDomain: 'a b' }, 'trustDomain'],
    ['trust domain with $(x)', { trustDomain: '$(x).org' }, 'trustDomain'],
    ['trust domain -x.org', { trustDomain: '-x.org' }, 'trustDomain'],
    ['uid domain with a slash', { uidDomain: 'a/b' }, 'uidDomain'],
    ['0 cpus', { cpus: 0 }, 'cpus'],
    ['1.5 cpus', { cpus: 1.5 }, 'cpus'],
    ['-1 cpus', { cpus: -1 }, 'cpus'],
    ['cpus as a string', { cpus: '2' }, 'cpus'],
    ['memory below 64 MB', { memoryMb: 10 }, 'memoryMb'],
    ['memory as a word other than auto', { memoryMb: 'lots' }, 'memoryMb'],
    ['a relative token file', { tokenFile: 'pool.token' }, 'tokenFile'],
    ['a token file path with ..', { tokenFile: '/pilot/../etc/shadow' }, 'tokenFile'],
    ['a pilot dir with ..', { pilotDir: '/pilot/..' }, 'pilotDir'],
    ['a pilot dir with .', { pilotDir: '/./pilot' }, 'pilotDir'],
    ['a pilot dir with a space', { pilotDir: '/my pilot' }, 'pilotDir'],
    ['an unknown network mode', { networkMode: 'overlay' }, 'networkMode'],
    ['a heartbeat of 0 s', { heartbeatSeconds: 0 }, 'heartbeatSeconds'],
    ['a negative idle limit', { idleShutdownSeconds: -1 }, 'idleShutdownSeconds'],
    ['a fractional lifetime', { maxLifetimeSeconds: 1.5 }, 'maxLifetimeSeconds'],
    ['START with a newline', { start: 'True\nNUM_CPUS = 64' }, 'start'],
    ['an empty START', { start: '' }, 'start'],
    ['a reserved attribute name', { attributes: { Start: 'x' } }, 'attributes.Start'],
    ['a reserved attribute name (lower case)', { attributes: { memory: 1 } }, 'attributes.memory'],
    ['an attribute name starting with a digit', { attributes: { '1abc': 1 } }, 'attributes.1abc'],
    ['an attribute name with a dash', { attributes: { 'my-attr': 1 } }, 'attributes.my-attr'],
    ['an attribute value with a newline', { attributes: { My_Attr: 'a\nSTART = False' } }, 'attributes.My_Attr'],
    ['an attribute value with a carriage return', { attributes: { My_Attr: 'a\rb' } }, 'attributes.My_Attr'],
    ['an attribute value that is an object', { attributes: { My_Attr: {} } }, 'attributes.My_Attr'],
    ['an empty attribute value', { attributes: { My_Attr: '' } }, 'attributes.My_Attr'],
    ['a site snippet named ../x', { siteSnippets: [{ name: '../x', content: '' }] }, 'siteSnippets.0.name'],
    ['networkInterface in bridge mode', { networkMode: 'bridge', networkInterface: '192.0.2.10' }, 'networkInterface'],
    ['ccbAddress in host mode', { ccbAddress: 'cm.example.org' }, 'ccbAddress'],
    ['a remote collector without networkInterface', { collector: 'cm.example.org' }, 'networkInterface'],
  ])('%s', (_, overrides, key) => {
    const error = refusal(overrides);
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.isUsageError).toBe(true);
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(`${key}: expected `)).toBe(true);
  });

  it('says what is expected in words, never "Invalid input" or a zod type name', () => {
    expect(refusal({ cpus: 1.5 }).message).toBe('cpus: expected a whole number of cores');
    expect(refusal({ memoryMb: 'lots' }).message).toBe('memoryMb: expected auto or whole megabytes');
    expect(refusal({ attributes: { start: 1 } }).message).toBe(
      'attributes.start: expected a name HTCondor does not set itself',
    );
    expect(refusal({ attributes: { '1a': 1 } }).message).toBe('attributes.1a: expected a ClassAd attribute name');
    expect(refusal({ attributes: { A: null } }).message).toBe(
      'attributes.A: expected a one-line string, a number or true/false',
    );
    expect(refusal({ cpus: '2' }).message).toBe('cpus: expected a whole number of cores');
  });

  it('names an unknown key', () => {
    const error = refusal({ colector: 'cm.example.org' });
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toBe('unknown key "colector"');
  });

  // Found by config-file.property.test.ts: a key with a tab or a quote was shown raw, breaking the line or the quoting.
  it.each([
    ['a\tb', String.raw`unknown key "a\tb"`],
    ['"', String.raw`unknown key "\""`],
    ['a\u2028b', String.raw`unknown key "a\u2028b"`],
  ])('shows an unknown key %j quoted and escaped', (key, message) => {
    expect(refusal({ [key]: 1 }).message).toBe(message);
  });

  it('says which required key is missing', () => {
    expect(() => checkPilotOptions({ collector: '127.0.0.1', slotName: 's' })).toThrow(
      'trustDomain: missing (required)',
    );
  });

  it('refuses something that is not a mapping', () => {
    expect(() => checkPilotOptions('collector: x')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => checkPilotOptions(null)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
  });
});

describe('with a source file', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a bad value', { cpus: 0 }, 'pilot.yaml: cpus: expected a whole number of cores ≥ 1'],
    ['an unknown key', { bogus: 1 }, 'pilot.yaml: unknown key "bogus"'],
    [
      'networkInterface in bridge mode',
      { networkMode: 'bridge', networkInterface: '192.0.2.10' },
      'pilot.yaml: networkInterface:',
    ],
    ['ccbAddress in host mode', { ccbAddress: 'cm.example.org' }, 'pilot.yaml: ccbAddress:'],
    ['a remote collector without networkInterface', { collector: 'cm.example.org' }, 'pilot.yaml: networkInterface:'],
  ])('gives E_BAD_CONFIG naming the file for %s', (_, overrides, start) => {
    const error = refusal(overrides, 'pilot.yaml');
    expect(error.code).toBe('E_BAD_CONFIG');
    expect(error.message.startsWith(start)).toBe(true);
  });
});

describe('checkOptionsFile', () => {
  it('accepts a file that sets only some keys (flags may give the rest)', () => {
    expect(() => checkOptionsFile({ cpus: 2 }, 'pilot.yaml')).not.toThrow();
    expect(() => checkOptionsFile({}, 'pilot.yaml')).not.toThrow();
  });

  it('refuses a bad value or an unknown key with E_BAD_CONFIG naming the file', () => {
    expect(() => checkOptionsFile({ attributes: { My_Attr1: '' } }, 'pilot.yaml')).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: 'pilot.yaml: attributes.My_Attr1: expected not empty' }),
    );
    expect(() => checkOptionsFile({ bogus: 1 }, 'pilot.yaml')).toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: 'pilot.yaml: unknown key "bogus"' }),
    );
  });
});

describe('mounts', () => {
  it('fills in the target (the source), read-only and rslave', () => {
    expect(checkPilotOptions({ ...MINIMAL_INPUT, mounts: [{ source: '/cvmfs' }] }).mounts).toEqual([
      { source: '/cvmfs', target: '/cvmfs', readOnly: true, propagation: 'rslave' },
    ]);
    expect(
      checkPilotOptions({
        ...MINIMAL_INPUT,
        mounts: [{ source: '/data/site', target: '/site', readOnly: false, propagation: 'rprivate' }],
      }).mounts,
    ).toEqual([{ source: '/data/site', target: '/site', readOnly: false, propagation: 'rprivate' }]);
  });

  it.each<[string, unknown, RegExp]>([
    ['a relative source', { source: 'cvmfs' }, /^mounts\.0\.source: expected an absolute host path/],
    ['a .. component', { source: '/cvmfs/../etc' }, /^mounts\.0\.source: /],
    ['a space', { source: '/data/my dir' }, /^mounts\.0\.source: /],
    ['a colon', { source: '/a:b' }, /^mounts\.0\.source: /],
    ['a shell metacharacter', { source: '/data/$(x)' }, /^mounts\.0\.source: /],
    ['the Docker socket', { source: '/var/run/docker.sock' }, /Docker socket/],
    ['a source holding the Docker socket', { source: '/run' }, /Docker socket/],
    ['the engine’s files', { source: '/var/lib/docker/overlay2' }, /engine/],
    ['a source under /proc', { source: '/proc/1' }, /outside \/proc/],
    ['the root as target', { source: '/data', target: '/' }, /^mounts\.0\.target: /],
    ['/usr as target', { source: '/data', target: '/usr/local' }, /hide the system/],
    ['/etc as target', { source: '/data', target: '/etc' }, /hide the system/],
    ['HTCondor’s configuration as target', { source: '/data', target: '/etc/condor/config.d' }, /hide the system/],
    [
      'an unknown propagation',
      { source: '/cvmfs', propagation: 'rshared' },
      /^mounts\.0\.propagation: expected rslave/,
    ],
    ['an unknown key', { source: '/cvmfs', mode: 'ro' }, /unknown key "mode"/],
  ])('refuses %s', (_name, mount, message) => {
    expect(() => checkPilotOptions({ ...MINIMAL_INPUT, mounts: [mount] })).toThrow(message);
  });

  it('accepts a target inside /etc (grid certificates) and the repositories one by one', () => {
    const mounts = [
      { source: '/etc/grid-security/certificates' },
      { source: '/cvmfs/alice.cern.ch' },
      { source: '/cvmfs/sft.cern.ch' },
    ];
    expect(checkPilotOptions({ ...MINIMAL_INPUT, mounts }).mounts.map((m) => m.target)).toEqual(
      mounts.map((m) => m.source),
    );
  });

  it('refuses two mounts on one target', () => {
    expect(() =>
      checkPilotOptions({ ...MINIMAL_INPUT, mounts: [{ source: '/a' }, { source: '/b', target: '/a' }] }),
    ).toThrow(/^mounts\.1\.target: expected a target no other mount has/);
  });

  it.each([
    ['the pilot directory', '/pilot'],
    ['inside the pilot directory', '/pilot/config.d'],
    ['above the pilot directory', '/'],
    ['the scratch directory', '/scratch'],
    ['inside the scratch directory', '/scratch/x'],
  ])('refuses a target on %s', (_name, target) => {
    const input = { ...MINIMAL_INPUT, executeDir: '/scratch', mounts: [{ source: '/data', target }] };
    expect(() => checkPilotOptions(input)).toThrow(/^mounts\.0\.target: /);
  });

  it('refuses a target on a token file kept outside the pilot directory, naming the file when there is one', () => {
    const input = {
      ...MINIMAL_INPUT,
      tokenFile: '/etc/pool/pool.token',
      mounts: [{ source: '/data', target: '/etc/pool' }],
    };
    expect(() => checkPilotOptions(input, 'pilot.yaml')).toThrow(
      expect.objectContaining({
        code: 'E_BAD_CONFIG',
        message: expect.stringMatching(/^pilot\.yaml: mounts\.0\.target: .*\/etc\/pool\/pool\.token/),
      }),
    );
  });

  it('refuses a scratch directory inside the pilot directory', () => {
    expect(() => checkPilotOptions({ ...MINIMAL_INPUT, executeDir: '/pilot/scratch' })).toThrow(/^executeDir: /);
  });
});

describe('jobEnvironment', () => {
  it('takes names and one-line values, quotes and spaces included', () => {
    const jobEnvironment = { VO_SITE: 'T2 test', QUOTED: `it's "x"`, EMPTY: '' };
    expect(checkPilotOptions({ ...MINIMAL_INPUT, jobEnvironment }).jobEnvironment).toEqual(jobEnvironment);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a bad name', { '1X': 'a' }, /jobEnvironment\.1X: expected an environment variable name/],
    ['a token by its name', { BEARER_TOKEN: 'x' }, /non-secret name/],
    ['a password by its name', { DB_Password: 'x' }, /non-secret name/],
    ['a secret by its name', { AWS_SECRET_ACCESS_KEY: 'x' }, /non-secret name/],
    ['a name HTCondor sets', { _CONDOR_SCRATCH_DIR: '/x' }, /_CONDOR_/],
    ['a newline', { A: 'x\ny' }, /one line/],
    ['a $', { PATH: '/cvmfs/bin:$PATH' }, /without \$/],
    ['a number', { A: 1 }, /a string value/],
  ])('refuses %s', (_name, jobEnvironment, message) => {
    expect(() => checkPilotOptions({ ...MINIMAL_INPUT, jobEnvironment })).toThrow(message);
  });
});
