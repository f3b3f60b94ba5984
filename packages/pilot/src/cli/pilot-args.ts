import { readFile } from 'node:fs/promises';
import { oneValue, textValues } from '@docker-cernvm/cli-kit';
import path from 'node:path';
import type { Argv } from 'yargs';
import { readOptionsFile } from '../config-file.js';
import { PilotError } from '../errors.js';
import { mountOf } from '../mounts.js';
import { checkOptionsFile, checkPilotOptions, type PilotOptions, type PilotOptionsInput } from '../options.js';

/** The flags that describe one slot, shared by `render` and `run`; each maps to a key of the options file. */
export interface PilotArgs {
  config?: string;
  collector?: string;
  'trust-domain'?: string;
  'uid-domain'?: string;
  'slot-name'?: string;
  cpus?: string;
  'memory-mb'?: string;
  'disk-mb'?: string;
  network?: string;
  'network-interface'?: string;
  'ccb-address'?: string;
  'idle-shutdown'?: string;
  'max-lifetime'?: string;
  vacate?: string;
  heartbeat?: string;
  start?: string;
  attribute?: string[];
  'site-config'?: string[];
  'job-env'?: string[];
  /** `run` only: host paths bound into the container. */
  mount?: string[];
}

// Numbers are read as strings and checked here, so `--cpus abc` names the flag instead of becoming NaN.
const STRING_FLAGS: [flag: keyof PilotArgs, key: string, describe: string][] = [
  ['collector', 'collector', 'Central manager HOST[:PORT] (default port 9618)'],
  ['trust-domain', 'trustDomain', 'The pool trust domain (also UID_DOMAIN unless --uid-domain)'],
  ['uid-domain', 'uidDomain', 'UID_DOMAIN when it differs from the trust domain'],
  ['slot-name', 'slotName', 'Unique name of this slot (MASTER_NAME and STARTD_NAME)'],
  ['network', 'networkMode', 'host (default) or bridge'],
  [
    'network-interface',
    'networkInterface',
    'Address advertised on the host network (default 127.0.0.1 for a local collector)',
  ],
  ['ccb-address', 'ccbAddress', 'CCB HOST[:PORT] in bridge mode (default: the collector)'],
  ['start', 'start', 'START expression (default True)'],
];
const INTEGER_FLAGS: [flag: keyof PilotArgs, key: string, describe: string][] = [
  ['cpus', 'cpus', 'CPUs the slot advertises (default 1)'],
  ['memory-mb', 'memoryMb', 'Memory in MB (default: the container limit)'],
  ['disk-mb', 'diskMb', 'Disk in MB the slot advertises'],
  ['idle-shutdown', 'idleShutdownSeconds', 'Seconds unclaimed before the pilot exits 0 (default 0 = never)'],
  ['max-lifetime', 'maxLifetimeSeconds', 'Seconds after which the pilot drains peacefully (default 0 = never)'],
  ['vacate', 'vacateSeconds', 'Seconds before a deadline that a job gets its soft kill signal (default 30)'],
  ['heartbeat', 'heartbeatSeconds', 'Seconds between heartbeat writes besides one at each change (default 30)'],
];

export function pilotOptionFlags<T>(argv: Argv<T>): Argv<T & PilotArgs> {
  let result = argv.option('config', {
    type: 'string',
    coerce: oneValue('config'),
    requiresArg: true,
    describe: 'YAML or JSON file of pilot options (flags override it)',
  }) as Argv<T & PilotArgs>;
  for (const [flag, , describe] of [...STRING_FLAGS, ...INTEGER_FLAGS]) {
    result = result.option(flag, { type: 'string', coerce: oneValue(flag), requiresArg: true, describe }) as Argv<
      T & PilotArgs
    >;
  }
  return result
    .option('attribute', {
      type: 'string',
      array: true,
      coerce: textValues('attribute'),
      requiresArg: true,
      describe: 'Extra slot attribute NAME=VALUE (repeatable)',
    })
    .option('site-config', {
      type: 'string',
      array: true,
      coerce: textValues('site-config'),
      requiresArg: true,
      describe: 'HTCondor config file appended last (repeatable)',
    })
    .option('job-env', {
      type: 'string',
      array: true,
      coerce: textValues('job-env'),
      requiresArg: true,
      describe: 'Non-secret variable NAME=VALUE every job gets (STARTER_JOB_ENVIRONMENT; repeatable)',
    }) as Argv<T & PilotArgs>;
}

/** The flags only `run` has: what is bound into the container. */
export function mountFlags<T>(argv: Argv<T>): Argv<T> {
  return argv.option('mount', {
    type: 'string',
    array: true,
    coerce: textValues('mount'),
    requiresArg: true,
    describe: 'Bind a host path: SOURCE[:TARGET][:ro|rw,rslave|rprivate] (default read-only, rslave; repeatable)',
  });
}

/** `--job-env NAME=VALUE`: the value as given, always a string. */
export function jobEnvOf(text: string): [string, string] {
  const match = /^([^=]+)=(.*)$/s.exec(text);
  if (!match) throw new PilotError('E_BAD_OPTION', `--job-env: expected NAME=VALUE, got "${text}"`);
  return [match[1] ?? '', match[2] ?? ''];
}

function integerOf(flag: string, value: string): number {
  if (!/^\d{1,12}$/.test(value))
    throw new PilotError('E_BAD_OPTION', `--${flag}: expected a whole number, got "${value}"`);
  return Number(value);
}

/** NAME=VALUE with the value typed: whole numbers and true/false become ClassAd numbers and booleans. */
export function attributeOf(text: string): [string, string | number | boolean] {
  const match = /^([^=]+)=(.*)$/s.exec(text);
  if (!match) throw new PilotError('E_BAD_OPTION', `--attribute: expected NAME=VALUE, got "${text}"`);
  const [, name = '', value = ''] = match;
  // Not with a leading zero: `0042` is an identifier, and as a number it would lose its zeros.
  if (/^-?(?:0|[1-9]\d{0,14})$/.test(value)) return [name, Number(value)];
  if (value === 'true' || value === 'false') return [name, value === 'true'];
  return [name, value];
}

/** Options from the defaults, then the file (if any), then the flags over it, validated with the schema. */
export async function pilotOptionsFromArgs(
  args: PilotArgs,
  defaults: Partial<PilotOptionsInput> = {},
): Promise<PilotOptions> {
  const fromFile = args.config ? await readOptionsFile(args.config) : {};
  // The file's own values are checked first, so a problem in one of them always names the file.
  if (args.config) checkOptionsFile(fromFile, args.config);
  const merged: Record<string, unknown> = { ...defaults, ...fromFile };
  const flagged: string[] = [];
  for (const [flag, key] of STRING_FLAGS) {
    const value = args[flag];
    if (typeof value === 'string') {
      merged[key] = value;
      flagged.push(key);
    }
  }
  for (const [flag, key] of INTEGER_FLAGS) {
    const value = args[flag];
    if (typeof value === 'string') {
      merged[key] = key === 'memoryMb' && value === 'auto' ? value : integerOf(flag, value);
      flagged.push(key);
    }
  }
  if (args.attribute?.length) {
    merged.attributes = {
      ...(fromFile.attributes as object | undefined),
      ...Object.fromEntries(args.attribute.map(attributeOf)),
    };
    flagged.push('attributes');
  }
  if (args['job-env']?.length) {
    merged.jobEnvironment = {
      ...(fromFile.jobEnvironment as object | undefined),
      ...Object.fromEntries(args['job-env'].map(jobEnvOf)),
    };
    flagged.push('jobEnvironment');
  }
  if (args.mount?.length) {
    merged.mounts = [...((fromFile.mounts as unknown[] | undefined) ?? []), ...args.mount.map((text) => mountOf(text))];
    flagged.push('mounts');
  }
  if (args['site-config']?.length) {
    const snippets = [];
    for (const file of args['site-config']) {
      const content = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new PilotError('E_BAD_OPTION', `--site-config: cannot read ${file} (${error.code ?? 'error'})`);
      });
      snippets.push({ name: path.basename(file).replace(/[^A-Za-z0-9._-]/g, '_'), content });
    }
    merged.siteSnippets = [...((fromFile.siteSnippets as unknown[] | undefined) ?? []), ...snippets];
    flagged.push('siteSnippets');
  }
  // A problem in a key the flags did not set is the file's; name the file then.
  try {
    return checkPilotOptions(merged);
  } catch (error) {
    if (args.config && error instanceof PilotError) {
      const key = /^([A-Za-z0-9._]+):/.exec(error.message)?.[1]?.split('.')[0];
      const fileKey = key !== undefined && !flagged.includes(key) && key in fromFile;
      if (fileKey || error.message.startsWith('unknown key'))
        throw new PilotError('E_BAD_CONFIG', `${args.config}: ${error.message}`);
    }
    throw error;
  }
}
