import { PilotError, mountOf, mountSchema, readOptionsFile } from '@docker-cernvm/pilot';
import { type FactoryConfig, type ValueSource, checkFactoryConfig } from './config.js';
import { FactoryError } from './errors.js';

/** Scalar keys a flag or an environment variable may set; the rest (environment, pilot) only come from the file. */
export const SCALAR_KEYS = [
  'name',
  'slots',
  'image',
  'slotCommand',
  'collector',
  'trustDomain',
  'tokenFile',
  'networkMode',
  'networkInterface',
  'coresPerSlot',
  'pin',
  'memoryMb',
  'pidsLimit',
  'stateDir',
  'scratchDir',
  'resyncSeconds',
  'concurrency',
  'onExit',
  'stopTimeoutSeconds',
  'drainDeadlineSeconds',
  'logFormat',
  'listen',
  'socket',
  'followSnapshot',
  'followIntervalSeconds',
  'cvmfsDir',
  'tokenCheckSeconds',
] as const;
export type ScalarKey = (typeof SCALAR_KEYS)[number];

const NUMBER_KEYS: ReadonlySet<ScalarKey> = new Set([
  'slots',
  'coresPerSlot',
  'memoryMb',
  'pidsLimit',
  'resyncSeconds',
  'concurrency',
  'stopTimeoutSeconds',
  'drainDeadlineSeconds',
  'followIntervalSeconds',
  'tokenCheckSeconds',
]);

/** `coresPerSlot` → `DOCKER_CERNVM_FACTORY_CORES_PER_SLOT`. */
export function envVariableOf(key: ScalarKey): string {
  return `DOCKER_CERNVM_FACTORY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** `coresPerSlot` → `cores-per-slot`. */
export function flagOf(key: ScalarKey): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Text from a flag or a variable, typed for the schema; what does not convert is left for it to reject by name. */
function typed(key: ScalarKey, text: string): unknown {
  if (NUMBER_KEYS.has(key)) return /^\d{1,12}$/.test(text.trim()) ? Number(text.trim()) : text;
  if (key === 'pin' || key === 'followSnapshot') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** The file as a plain object: the pilot's reader, its one-line errors carried over as the factory's. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  try {
    return await readOptionsFile(file);
  } catch (error) {
    if (error instanceof PilotError) throw new FactoryError('E_BAD_CONFIG', error.message, { cause: error });
    throw error;
  }
}

export interface ConfigLayers {
  file?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Flag values as given on the command line (text), by key. */
  flags: Partial<Record<ScalarKey, string | boolean>>;
  /** `--mount SOURCE[:TARGET][:OPTIONS]` flags, added after the file's `mounts`. */
  mounts?: readonly string[];
}

/** The file, then the environment, then the flags: each later layer wins; every value remembers where it came from. */
export async function loadFactoryConfig(layers: ConfigLayers): Promise<FactoryConfig> {
  const merged: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  if (layers.file) {
    const fromFile = await readConfigFile(layers.file);
    for (const [key, value] of Object.entries(fromFile)) {
      merged[key] = value;
      sources.set(key, { kind: 'file', file: layers.file });
    }
  }
  for (const key of SCALAR_KEYS) {
    const variable = envVariableOf(key);
    const text = layers.env[variable];
    if (text !== undefined && text !== '') {
      merged[key] = typed(key, text);
      sources.set(key, { kind: 'env', variable });
    }
  }
  for (const key of SCALAR_KEYS) {
    const value = layers.flags[key];
    if (value === undefined) continue;
    merged[key] = typeof value === 'boolean' ? value : typed(key, value);
    sources.set(key, { kind: 'flag', flag: flagOf(key) });
  }
  if (layers.mounts?.length) {
    const fromFlags = layers.mounts.map((text) => {
      let entry;
      try {
        entry = mountOf(text);
      } catch (error) {
        throw new FactoryError('E_BAD_OPTION', (error as Error).message, { cause: error });
      }
      // Each flag is checked alone, so a problem in the merged list (a target twice) is named after the file, if any.
      const checked = mountSchema.safeParse(entry);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new FactoryError(
          'E_BAD_OPTION',
          `--mount ${text}: ${issue?.path.join('.') ?? ''}: expected ${issue?.message ?? 'a valid mount'}`,
        );
      }
      return entry;
    });
    merged.mounts = [...(Array.isArray(merged.mounts) ? (merged.mounts as unknown[]) : []), ...fromFlags];
    if (!sources.has('mounts')) sources.set('mounts', { kind: 'flag', flag: 'mount' });
  }
  // The one key without a default: say every way to give it rather than blame no source.
  if (merged.slots === undefined) {
    const file = layers.file ? `slots: in ${layers.file}` : 'slots: in a --config file';
    throw new FactoryError(
      'E_BAD_SLOTS',
      `--slots: expected how many slots to run (or ${envVariableOf('slots')}, or ${file})`,
    );
  }
  return checkFactoryConfig(merged, sources);
}
