import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FactoryError } from './errors.js';
import {
  type ConfigLayers,
  SCALAR_KEYS,
  envVariableOf,
  flagOf,
  loadFactoryConfig,
  readConfigFile,
} from './load-config.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'factory-config-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a config file with this text and returns its path. */
async function configFile(text: string): Promise<string> {
  const file = path.join(tmp, `factory-${++fileCount}.yaml`);
  await writeFile(file, text);
  return file;
}

async function loadError(layers: Partial<ConfigLayers>): Promise<FactoryError> {
  try {
    await loadFactoryConfig({ env: {}, flags: {}, ...layers });
  } catch (error) {
    expect(error).toBeInstanceOf(FactoryError);
    const e = error as FactoryError;
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('loaded');
}

describe('envVariableOf and flagOf', () => {
  it.each([
    ['slots', 'DOCKER_CERNVM_FACTORY_SLOTS', 'slots'],
    ['coresPerSlot', 'DOCKER_CERNVM_FACTORY_CORES_PER_SLOT', 'cores-per-slot'],
    ['memoryMb', 'DOCKER_CERNVM_FACTORY_MEMORY_MB', 'memory-mb'],
    ['tokenFile', 'DOCKER_CERNVM_FACTORY_TOKEN_FILE', 'token-file'],
    ['stopTimeoutSeconds', 'DOCKER_CERNVM_FACTORY_STOP_TIMEOUT_SECONDS', 'stop-timeout-seconds'],
    ['pin', 'DOCKER_CERNVM_FACTORY_PIN', 'pin'],
  ] as const)('%s ↔ %s ↔ --%s', (key, variable, flag) => {
    expect(envVariableOf(key)).toBe(variable);
    expect(flagOf(key)).toBe(flag);
  });

  it('gives every scalar key its own variable and flag', () => {
    expect(new Set(SCALAR_KEYS.map(envVariableOf)).size).toBe(SCALAR_KEYS.length);
    expect(new Set(SCALAR_KEYS.map(flagOf)).size).toBe(SCALAR_KEYS.length);
    for (const key of SCALAR_KEYS) expect(flagOf(key)).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
  });
});

describe('loadFactoryConfig: layers', () => {
  it('takes the file, then the environment, then the flags, each later one winning', async () => {
    const file = await configFile('slots: 1\nmemoryMb: 1024\nconcurrency: 2\nname: from-file\n');
    const config = await loadFactoryConfig({
      file,
      env: { DOCKER_CERNVM_FACTORY_SLOTS: '2', DOCKER_CERNVM_FACTORY_MEMORY_MB: '4096' },
      flags: { slots: '3' },
    });
    expect(config.slots).toBe(3); // flag over environment over file
    expect(config.memoryMb).toBe(4096); // environment over file
    expect(config.concurrency).toBe(2); // file over default
    expect(config.name).toBe('from-file');
    expect(config.resyncSeconds).toBe(30); // default
  });

  it('types numbers and booleans given as text by variables and flags', async () => {
    const config = await loadFactoryConfig({
      env: { DOCKER_CERNVM_FACTORY_PIN: 'false', DOCKER_CERNVM_FACTORY_CORES_PER_SLOT: ' 2 ' },
      flags: { slots: '007', memoryMb: '512' },
    });
    expect(config).toMatchObject({ pin: false, coresPerSlot: 2, slots: 7, memoryMb: 512 });
  });

  it('takes a boolean flag as given (--no-pin)', async () => {
    expect(
      (await loadFactoryConfig({ env: { DOCKER_CERNVM_FACTORY_PIN: 'true' }, flags: { slots: '1', pin: false } })).pin,
    ).toBe(false);
  });

  it('ignores an empty variable, as if unset', async () => {
    const config = await loadFactoryConfig({ env: { DOCKER_CERNVM_FACTORY_IMAGE: '' }, flags: { slots: '1' } });
    expect(config.image).toBe('cernvm:4');
  });

  it('ignores variables that are not its own', async () => {
    const config = await loadFactoryConfig({
      env: { DOCKER_CERNVM_FACTORY_BOGUS: 'x', PATH: '/bin' },
      flags: { slots: '1' },
    });
    expect(config.slots).toBe(1);
  });

  it('reads environment and pilot sections from the file only', async () => {
    const file = await configFile(
      'slots: 2\nenvironment:\n  SITE: T2_XX\npilot:\n  idleShutdownSeconds: 600\n  attributes:\n    Site: T2_XX\n',
    );
    const config = await loadFactoryConfig({ file, env: {}, flags: {} });
    expect(config.environment).toEqual({ SITE: 'T2_XX' });
    expect(config.pilot).toEqual({ idleShutdownSeconds: 600, attributes: { Site: 'T2_XX' } });
  });

  it('takes an empty file as no settings', async () => {
    const file = await configFile('# nothing here\n');
    expect((await loadFactoryConfig({ file, env: {}, flags: { slots: '4' } })).slots).toBe(4);
  });
});

describe('loadFactoryConfig: a missing slot count', () => {
  it('says every way to give it', async () => {
    const error = await loadError({});
    expect(error.code).toBe('E_BAD_SLOTS');
    expect(error.message).toBe(
      '--slots: expected how many slots to run (or DOCKER_CERNVM_FACTORY_SLOTS, or slots: in a --config file)',
    );
  });

  it('names the file that does not set it', async () => {
    const file = await configFile('memoryMb: 1024\n');
    expect((await loadError({ file })).message).toBe(
      `--slots: expected how many slots to run (or DOCKER_CERNVM_FACTORY_SLOTS, or slots: in ${file})`,
    );
  });
});

describe('loadFactoryConfig: errors name where the value came from', () => {
  it.each<[string, string, string]>([
    ['abc', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['-1', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['1.5', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['99999', 'E_BAD_SLOTS', '--slots: expected a whole number of slots ≤ 4096'],
    ['9999999999999', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['0x10', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
    ['1e3', 'E_BAD_SLOTS', '--slots: expected a whole number of slots'],
  ])('--slots %j', async (text, code, message) => {
    const error = await loadError({ flags: { slots: text } });
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it.each<[string, string, string]>([
    ['abc', 'E_BAD_SLOTS', 'DOCKER_CERNVM_FACTORY_SLOTS: expected a whole number of slots'],
    ['5000', 'E_BAD_SLOTS', 'DOCKER_CERNVM_FACTORY_SLOTS: expected a whole number of slots ≤ 4096'],
  ])('DOCKER_CERNVM_FACTORY_SLOTS=%j', async (text, code, message) => {
    const error = await loadError({ env: { DOCKER_CERNVM_FACTORY_SLOTS: text } });
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it.each<[Partial<ConfigLayers>, string, string]>([
    [{ flags: { slots: '1', memoryMb: 'lots' } }, 'E_BAD_OPTION', '--memory-mb: expected whole megabytes'],
    [
      { flags: { slots: '1', onExit: 'kill' } },
      'E_BAD_OPTION',
      '--on-exit: expected leave (pilots keep running) or stop',
    ],
    [
      { flags: { slots: '1', name: 'Bad Name' } },
      'E_BAD_OPTION',
      '--name: expected lower-case letters, digits, dot, dash or underscore (≤ 41)',
    ],
    [
      { env: { DOCKER_CERNVM_FACTORY_PIN: 'yes' }, flags: { slots: '1' } },
      'E_BAD_OPTION',
      'DOCKER_CERNVM_FACTORY_PIN: expected true or false',
    ],
    [
      { env: { DOCKER_CERNVM_FACTORY_CORES_PER_SLOT: '0' }, flags: { slots: '1' } },
      'E_BAD_OPTION',
      'DOCKER_CERNVM_FACTORY_CORES_PER_SLOT: expected a whole number of cores ≥ 1',
    ],
  ])('%j', async (layers, code, message) => {
    const error = await loadError(layers);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('blames the flag, not the file, for a value the flag overrode', async () => {
    const file = await configFile('slots: 2\n');
    expect((await loadError({ file, flags: { slots: 'x' } })).message).toBe(
      '--slots: expected a whole number of slots',
    );
  });

  it('blames the file, not a flag, for a bad value only the file set', async () => {
    const file = await configFile('slots: 2\nmemoryMb: 12\n');
    const error = await loadError({ file, flags: { slots: '1' } });
    expect(error.code).toBe('E_BAD_CONFIG');
    expect(error.message).toBe(`${file}: memoryMb: expected whole megabytes ≥ 64`);
  });

  it.each<[string, string]>([
    ['slots: -1\n', 'slots: expected a whole number of slots ≥ 0'],
    ['slots: 1.5\n', 'slots: expected a whole number of slots'],
    ['slots: "4"\n', 'slots: expected a whole number of slots'],
    ['slots: [1]\n', 'slots: expected a whole number of slots'],
    ['slots: 1\npin: "no"\n', 'pin: expected true or false'],
    ['slots: 1\npilot:\n  heartbeatSeconds: 0\n', 'pilot.heartbeatSeconds: expected whole seconds ≥ 1'],
    ['slots: 1\nenvironment:\n  1BAD: x\n', 'environment.1BAD: expected an environment variable name'],
    ['slots: 1\nbogus: 1\n', 'unknown key "bogus"'],
    ['slots: 1\npilot:\n  bogus: 1\n', 'unknown key "pilot.bogus"'],
    // Found by load-config.property.test.ts: a key holding a quote or a tab was shown raw.
    ["slots: 1\n'\"': 1\n", String.raw`unknown key "\""`],
    ['slots: 1\n"a\\tb": 1\n', String.raw`unknown key "a\tb"`],
  ])('a file saying %j: one line naming the file and the key', async (text, message) => {
    const file = await configFile(text);
    const error = await loadError({ file });
    expect(error.code).toBe('E_BAD_CONFIG');
    expect(error.message).toBe(`${file}: ${message}`);
  });
});

describe('readConfigFile', () => {
  it('reads a YAML mapping', async () => {
    expect(await readConfigFile(await configFile('slots: 3\nname: site-a\n'))).toEqual({ slots: 3, name: 'site-a' });
  });

  it.each<[string, RegExp]>([
    ['slots: [1, 2\n', /: not valid YAML: /],
    ['slots: 1\nslots: 2\n', /: not valid YAML: Map keys must be unique at line 2, column 1$/],
    ['a: b: c\n', /: not valid YAML: /],
    ['- 1\n- 2\n', /: expected a mapping of keys to values$/],
    ['just text\n', /: expected a mapping of keys to values$/],
    ['42\n', /: expected a mapping of keys to values$/],
  ])('refuses %j in one line naming the file', async (text, message) => {
    const file = await configFile(text);
    const error = await readConfigFile(file).then(
      () => undefined,
      (e: unknown) => e as FactoryError,
    );
    expect(error).toBeInstanceOf(FactoryError);
    expect(error!.code).toBe('E_BAD_CONFIG');
    expect(error!.message.startsWith(`${file}: `)).toBe(true);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toContain('\n');
  });

  it('names a file it cannot read, and why', async () => {
    const missing = path.join(tmp, 'missing.yaml');
    await expect(readConfigFile(missing)).rejects.toThrow(`${missing}: cannot read it (ENOENT)`);
    await expect(readConfigFile(tmp)).rejects.toThrow(`${tmp}: cannot read it (EISDIR)`);
  });
});
