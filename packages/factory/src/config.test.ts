import { describe, expect, it } from '@jest/globals';
import { CONFIG_DEFAULTS, MAX_SLOTS, type ValueSource, checkFactoryConfig, describeSource } from './config.js';
import { FactoryError } from './errors.js';

const FILE: ValueSource = { kind: 'file', file: '/etc/docker-cernvm/factory.yaml' };

/** The FactoryError that checking `values` (each from `sources`) throws. */
function errorOf(values: Record<string, unknown>, sources: ReadonlyMap<string, ValueSource>): FactoryError {
  try {
    checkFactoryConfig(values, sources);
  } catch (error) {
    expect(error).toBeInstanceOf(FactoryError);
    return error as FactoryError;
  }
  throw new Error(`accepted ${JSON.stringify(values)}`);
}

/** As if every value came from the file. */
const fileError = (values: Record<string, unknown>) =>
  errorOf(values, new Map(Object.keys(values).map((key) => [key, FILE])));

describe('checkFactoryConfig', () => {
  it('fills every default but the slot count', () => {
    expect(checkFactoryConfig({ slots: 3 }, new Map())).toEqual({ ...CONFIG_DEFAULTS, slots: 3 });
  });

  it.each([
    ['name', 'docker-cernvm'],
    ['image', 'cernvm:4'],
    ['slotCommand', 'pilot'],
    ['collector', '127.0.0.1:9618'],
    ['tokenFile', '/etc/docker-cernvm/pool.token'],
    ['networkMode', 'host'],
    ['coresPerSlot', 1],
    ['pin', true],
    ['memoryMb', 2048],
    ['pidsLimit', 4096],
    ['stateDir', '/var/lib/docker-cernvm/factory'],
    ['resyncSeconds', 30],
    ['concurrency', 8],
    ['onExit', 'leave'],
    ['stopTimeoutSeconds', 30],
    ['logFormat', 'human'],
  ])('defaults %s to %j', (key, value) => {
    expect((checkFactoryConfig({ slots: 1 }, new Map()) as Record<string, unknown>)[key]).toBe(value);
  });

  it('leaves the optional keys out when nothing sets them', () => {
    const config = checkFactoryConfig({ slots: 1 }, new Map());
    expect(config).not.toHaveProperty('trustDomain');
    expect(config).not.toHaveProperty('environment');
    expect(config).not.toHaveProperty('pilot');
  });

  it('takes paths as the pilot and its mounts do: plain names, `@` and `+` among them', () => {
    const paths = {
      tokenFile: '/etc/site@x/pool+1.token',
      stateDir: '/var/lib/a@b',
      scratchDir: '/scratch+1',
      cvmfsDir: '/cvmfs',
      socket: '/run/f@1.sock',
    };
    expect(checkFactoryConfig({ slots: 1, ...paths }, new Map())).toMatchObject(paths);
  });

  it.each([0, 1, 64, MAX_SLOTS])('accepts %i slots', (slots) => {
    expect(checkFactoryConfig({ slots }, new Map()).slots).toBe(slots);
  });

  it('accepts a full pilot section and an environment', () => {
    const config = checkFactoryConfig(
      {
        slots: 2,
        environment: { SITE: 'T2_XX', _X1: '' },
        pilot: {
          idleShutdownSeconds: 600,
          maxLifetimeSeconds: 86_400,
          heartbeatSeconds: 5,
          start: 'TARGET.RequestCpus == 1',
          diskMb: 20_000,
          attributes: { Site: 'T2_XX', Weight: 3, Opportunistic: true },
          siteSnippets: [{ name: '90-site', content: 'STARTER_DEBUG = D_FULLDEBUG\n' }],
        },
      },
      new Map(),
    );
    expect(config.pilot?.attributes).toEqual({ Site: 'T2_XX', Weight: 3, Opportunistic: true });
    expect(config.environment).toEqual({ SITE: 'T2_XX', _X1: '' });
  });

  describe('a bad value from the file names the file and the key, and what was expected', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['slots as a string', { slots: '3' }, 'slots: expected a whole number of slots'],
      ['negative slots', { slots: -1 }, 'slots: expected a whole number of slots ≥ 0'],
      ['fractional slots', { slots: 1.5 }, 'slots: expected a whole number of slots'],
      ['huge slots', { slots: 99_999 }, `slots: expected a whole number of slots ≤ ${MAX_SLOTS}`],
      ['null slots', { slots: null }, 'slots: expected a whole number of slots'],
      [
        'a name with spaces',
        { slots: 1, name: 'my factory' },
        'name: expected lower-case letters, digits, dot, dash or underscore (≤ 41)',
      ],
      [
        'a name starting with a dash',
        { slots: 1, name: '-x' },
        'name: expected lower-case letters, digits, dot, dash or underscore (≤ 41)',
      ],
      ['an image with a space', { slots: 1, image: 'cernvm 4' }, 'image: expected an image NAME[:TAG]'],
      ['an image with shell characters', { slots: 1, image: 'cernvm;rm' }, 'image: expected an image NAME[:TAG]'],
      [
        'an unknown slot command',
        { slots: 1, slotCommand: 'bash' },
        'slotCommand: expected pilot (the rendered entrypoint) or image (its own command)',
      ],
      ['a collector that is a number', { slots: 1, collector: 9618 }, 'collector: expected a string'],
      [
        'a relative token file',
        { slots: 1, tokenFile: 'pool.token' },
        'tokenFile: expected an absolute path of plain names (letters, digits, . _ @ + -)',
      ],
      [
        'a token file path with a space',
        { slots: 1, tokenFile: '/etc/pool token' },
        'tokenFile: expected an absolute path of plain names (letters, digits, . _ @ + -)',
      ],
      [
        'a token file path with ..',
        { slots: 1, tokenFile: '/etc/../pool.token' },
        'tokenFile: expected an absolute path of plain names (letters, digits, . _ @ + -)',
      ],
      [
        'a state dir ending in .',
        { slots: 1, stateDir: '/var/lib/.' },
        'stateDir: expected an absolute path of plain names (letters, digits, . _ @ + -)',
      ],
      ['an unknown network mode', { slots: 1, networkMode: 'none' }, 'networkMode: expected host or bridge'],
      ['zero cores per slot', { slots: 1, coresPerSlot: 0 }, 'coresPerSlot: expected a whole number of cores ≥ 1'],
      ['pin as text', { slots: 1, pin: 'yes' }, 'pin: expected true or false'],
      ['too little memory', { slots: 1, memoryMb: 10 }, 'memoryMb: expected whole megabytes ≥ 64'],
      [
        'a process limit past the kernel’s',
        { slots: 1, pidsLimit: 5_000_000 },
        'pidsLimit: expected a whole number of processes (0: no limit) ≤ 4194304',
      ],
      [
        'a relative state dir',
        { slots: 1, stateDir: 'state' },
        'stateDir: expected an absolute path of plain names (letters, digits, . _ @ + -)',
      ],
      ['a zero resync', { slots: 1, resyncSeconds: 0 }, 'resyncSeconds: expected whole seconds ≥ 1'],
      ['too much concurrency', { slots: 1, concurrency: 65 }, 'concurrency: expected a whole number ≤ 64'],
      ['an unknown onExit', { slots: 1, onExit: 'kill' }, 'onExit: expected leave (pilots keep running) or stop'],
      ['an unknown log format', { slots: 1, logFormat: 'xml' }, 'logFormat: expected human or json'],
      ['environment as text', { slots: 1, environment: 'A=1' }, 'environment: expected a mapping'],
      [
        'an environment name with a dash',
        { slots: 1, environment: { 'MY-VAR': 'x' } },
        'environment.MY-VAR: expected an environment variable name',
      ],
      [
        'an environment value that is a number',
        { slots: 1, environment: { N: 3 } },
        'environment.N: expected a string value',
      ],
      ['pilot as text', { slots: 1, pilot: 'fast' }, 'pilot: expected a mapping'],
      [
        'a negative idle shutdown',
        { slots: 1, pilot: { idleShutdownSeconds: -5 } },
        'pilot.idleShutdownSeconds: expected whole seconds ≥ 0',
      ],
      [
        'a heartbeat as text',
        { slots: 1, pilot: { heartbeatSeconds: 'often' } },
        'pilot.heartbeatSeconds: expected whole seconds',
      ],
      ['an empty START', { slots: 1, pilot: { start: '' } }, 'pilot.start: expected not empty'],
      ['attributes as a list', { slots: 1, pilot: { attributes: ['a'] } }, 'pilot.attributes: expected a mapping'],
      [
        'an attribute that is a list',
        { slots: 1, pilot: { attributes: { A: [1] } } },
        'pilot.attributes.A: expected a one-line string, a number or true/false',
      ],
      ['site snippets as text', { slots: 1, pilot: { siteSnippets: 'x' } }, 'pilot.siteSnippets: expected a list'],
      [
        'a site snippet name that is a number',
        { slots: 1, pilot: { siteSnippets: [{ name: 1, content: '' }] } },
        'pilot.siteSnippets.0.name: expected a string',
      ],
      // The pilot's own rules: what a slot's pilot would refuse, the factory refuses before it starts one.
      [
        'a collector that is a URL',
        { slots: 1, collector: 'http://cm.example.org' },
        'collector: expected a host name or address with an optional :port',
      ],
      [
        'a trust domain with a slash',
        { slots: 1, trustDomain: 'pool/x' },
        'trustDomain: expected a domain name like pool.example.org',
      ],
      [
        'an interface that is not an address',
        { slots: 1, networkInterface: 'eth0;x' },
        'networkInterface: expected an address of this host, like 192.0.2.10',
      ],
      [
        'a reserved attribute',
        { slots: 1, pilot: { attributes: { NUM_CPUS: 64 } } },
        'pilot.attributes.NUM_CPUS: expected a name HTCondor does not set itself',
      ],
      [
        'a site snippet name with a slash',
        { slots: 1, pilot: { siteSnippets: [{ name: '../x', content: '' }] } },
        'pilot.siteSnippets.0.name: expected letters, digits, dot, dash or underscore',
      ],
    ])('%s', (_name, values, expected) => {
      const error = fileError(values);
      expect(error.code).toBe('E_BAD_CONFIG');
      expect(error.message).toBe(`/etc/docker-cernvm/factory.yaml: ${expected}`);
      expect(error.message).not.toMatch(/Invalid input|Invalid key|\n/);
      expect(error.isUsageError).toBe(true);
    });
  });

  describe('an unknown key names the file and the key', () => {
    it.each<[Record<string, unknown>, string]>([
      [{ slots: 1, bogus: 1 }, 'bogus'],
      [{ slots: 1, pilot: { bogus: 1 } }, 'pilot.bogus'],
      [{ slots: 1, pilot: { siteSnippets: [{ name: 'a', content: '', mode: 1 }] } }, 'pilot.siteSnippets.0.mode'],
    ])('%j', (values, key) => {
      const error = fileError(values);
      expect(error.code).toBe('E_BAD_CONFIG');
      expect(error.message).toBe(`/etc/docker-cernvm/factory.yaml: unknown key "${key}"`);
    });

    it('says only the key when no file was read', () => {
      expect(() => checkFactoryConfig({ slots: 1, bogus: 1 }, new Map())).toThrow('unknown key "bogus"');
    });
  });

  it.each<[string, ValueSource, string, string]>([
    [
      'an environment variable',
      { kind: 'env', variable: 'DOCKER_CERNVM_FACTORY_SLOTS' },
      'DOCKER_CERNVM_FACTORY_SLOTS: expected',
      'E_BAD_SLOTS',
    ],
    ['a flag', { kind: 'flag', flag: 'slots' }, '--slots: expected', 'E_BAD_SLOTS'],
    ['the file', FILE, '/etc/docker-cernvm/factory.yaml: slots: expected', 'E_BAD_CONFIG'],
  ])('blames %s for bad slots, with its own code', (_name, source, prefix, code) => {
    const error = errorOf({ slots: 'abc' }, new Map([['slots', source]]));
    expect(error.message.startsWith(prefix)).toBe(true);
    expect(error.code).toBe(code);
  });

  it('uses E_BAD_OPTION for a bad flag other than --slots', () => {
    const error = errorOf({ slots: 1, memoryMb: 'lots' }, new Map([['memoryMb', { kind: 'flag', flag: 'memory-mb' }]]));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toBe('--memory-mb: expected whole megabytes');
  });
});

describe('describeSource', () => {
  it.each<[ValueSource | undefined, string]>([
    [undefined, 'memoryMb'],
    [{ kind: 'file', file: '/f.yaml' }, '/f.yaml: memoryMb'],
    [{ kind: 'env', variable: 'DOCKER_CERNVM_FACTORY_MEMORY_MB' }, 'DOCKER_CERNVM_FACTORY_MEMORY_MB'],
    [{ kind: 'flag', flag: 'memory-mb' }, '--memory-mb'],
  ])('%j', (source, expected) => {
    expect(describeSource('memoryMb', source)).toBe(expected);
  });
});

describe('machineFeatures', () => {
  it('takes the host’s hs06 rating, and refuses one that is not a positive number', () => {
    expect(checkFactoryConfig({ slots: 1, machineFeatures: { hs06: 180.5 } }, new Map()).machineFeatures).toEqual({
      hs06: 180.5,
    });
    expect(() => checkFactoryConfig({ slots: 1, machineFeatures: { hs06: 0 } }, new Map())).toThrow(
      'machineFeatures.hs06: expected a positive number',
    );
    expect(() => checkFactoryConfig({ slots: 1, machineFeatures: { total_cpu: 4 } }, new Map())).toThrow(
      /unknown key "machineFeatures.total_cpu"/,
    );
  });
});

describe('the black-hole guard', () => {
  it('takes how many failed jobs in a row, each within how many seconds, drain a slot', () => {
    const config = checkFactoryConfig({ slots: 1, blackholeJobs: 3, blackholeSeconds: 30 }, new Map());
    expect([config.blackholeJobs, config.blackholeSeconds]).toEqual([3, 30]);
    expect(checkFactoryConfig({ slots: 1, blackholeJobs: 0 }, new Map()).blackholeJobs).toBe(0);
  });

  it('refuses more jobs than a heartbeat carries, and no seconds at all', () => {
    expect(() => checkFactoryConfig({ slots: 1, blackholeJobs: 11 }, new Map())).toThrow(/blackholeJobs/);
    expect(() => checkFactoryConfig({ slots: 1, blackholeSeconds: 0 }, new Map())).toThrow(/blackholeSeconds/);
  });
});

describe('cernvm', () => {
  it('takes a repository, a snapshot and a root, each optional', () => {
    const cernvm = { repository: 'cernvm-prod.cern.ch', snapshot: 'cernvm-system-4.7.1.0', root: 'cvm4' };
    expect(checkFactoryConfig({ slots: 1, cernvm }, new Map()).cernvm).toEqual(cernvm);
    expect(checkFactoryConfig({ slots: 1, cernvm: {} }, new Map()).cernvm).toEqual({});
    expect(checkFactoryConfig({ slots: 1 }, new Map()).cernvm).toBeUndefined();
  });

  it('refuses a name the mounter would refuse, and an unknown key, at load', () => {
    expect(fileError({ slots: 1, cernvm: { snapshot: ';rm' } }).message).toBe(
      '/etc/docker-cernvm/factory.yaml: cernvm.snapshot: expected a snapshot tag (cernvm-system-4.7.1.0)',
    );
    expect(() => checkFactoryConfig({ slots: 1, cernvm: { root: '../../etc' } }, new Map())).toThrow(
      'cernvm.root: expected a root inside the repository (cvm4, cvm3)',
    );
    expect(() => checkFactoryConfig({ slots: 1, cernvm: { tag: 'cernvm:4' } }, new Map())).toThrow(
      /unknown key "cernvm.tag"/,
    );
  });
});
