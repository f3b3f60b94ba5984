import { printable } from '@docker-cernvm/cli-kit';
import { checkRepository, checkRootPath, checkSnapshot } from '@docker-cernvm/mounter';
import {
  DEFAULT_PIDS_LIMIT,
  MAX_PIDS_LIMIT,
  MAX_JOB_ENDS,
  absolutePath,
  envName,
  keyPath,
  memoryMbSchema,
  mountsSchema,
  pilotOptionsSchema,
  wholeNumber,
} from '@docker-cernvm/pilot';
import * as z from 'zod';
import { FactoryError } from './errors.js';
import { scheduleSchema } from './schedule-schema.js';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,40}$/;
const IMAGE = /^[a-z0-9][a-z0-9._/-]{0,200}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

/** A name the mounter would refuse is refused with the configuration, before the engine is asked. */
const mounterName = (check: (name: string) => string, what: string) =>
  z.string({ error: what }).refine((name) => {
    try {
      check(name);
      return true;
    } catch {
      return false;
    }
  }, what);

/** A CernVM root the slots run from as their own root (podman's rootfs): chosen as `docker-cernvm mount` chooses. */
const cernvmSchema = z
  .object({
    repository: mounterName(checkRepository, 'a repository name (cernvm-prod.cern.ch)').optional(),
    snapshot: mounterName(checkSnapshot, 'a snapshot tag (cernvm-system-4.7.1.0)').optional(),
    root: mounterName(checkRootPath, 'a root inside the repository (cvm4, cvm3)').optional(),
  })
  .strict();

/** The upper bound on slots: far above any host's cores, low enough that a typo is caught. */
export const MAX_SLOTS = 4096;

const slotCount = () => wholeNumber(0, MAX_SLOTS, 'a whole number of slots');

/** What the factory hands on to each slot's pilot is checked by the pilot's own rules, limits and words. */
const pilotRules = pilotOptionsSchema.shape;

/** Pilot settings every slot shares; slot name and slot attributes are added per slot. */
const pilotSchema = pilotOptionsSchema
  .pick({
    idleShutdownSeconds: true,
    maxLifetimeSeconds: true,
    vacateSeconds: true,
    heartbeatSeconds: true,
    start: true,
    diskMb: true,
    attributes: true,
    siteSnippets: true,
    jobEnvironment: true,
    healthCheckSeconds: true,
    healthMinFreeMb: true,
  })
  .strict();

/** The factory's configuration: a YAML file, then environment, then flags, validated here once merged. */
export const factoryConfigSchema = z
  .object({
    name: z.string({ error: 'a name' }).regex(NAME, 'lower-case letters, digits, dot, dash or underscore (≤ 41)'),
    slots: slotCount(),
    image: z.string({ error: 'an image NAME[:TAG]' }).regex(IMAGE, 'an image NAME[:TAG]'),
    /** On podman, the slots' root instead of image: a CernVM root the mounter resolves (Docker refuses it). */
    cernvm: cernvmSchema.optional(),
    slotCommand: z.enum(['pilot', 'image'], { error: 'pilot (the rendered entrypoint) or image (its own command)' }),
    collector: pilotRules.collector,
    trustDomain: pilotRules.trustDomain.optional(),
    tokenFile: absolutePath(),
    networkMode: pilotRules.networkMode.unwrap(),
    networkInterface: pilotRules.networkInterface,
    coresPerSlot: pilotRules.cpus.unwrap(),
    pin: z.boolean({ error: 'true or false' }),
    memoryMb: memoryMbSchema,
    /** The most processes and threads one slot may hold (the engine's PidsLimit); 0: no limit. */
    pidsLimit: wholeNumber(0, MAX_PIDS_LIMIT, 'a whole number of processes (0: no limit)'),
    stateDir: absolutePath(),
    /** Each slot's scratch directory (HTCondor's EXECUTE) is <scratchDir>/<name>/slot-<i> on the host. */
    scratchDir: absolutePath(),
    /** Host paths bound into every slot: /cvmfs or single repositories, site files. */
    mounts: mountsSchema.optional(),
    environment: z.record(envName, z.string({ error: 'a string value' })).optional(),
    pilot: pilotSchema.optional(),
    resyncSeconds: wholeNumber(1, 3600, 'whole seconds'),
    concurrency: wholeNumber(1, 64, 'a whole number'),
    onExit: z.enum(['leave', 'stop'], { error: 'leave (pilots keep running) or stop' }),
    stopTimeoutSeconds: wholeNumber(0, 86_400, 'whole seconds'),
    /** A drain by SIGUSR1 (or `drain` without --deadline) vacates the jobs still running this long after it. */
    drainDeadlineSeconds: wholeNumber(0, 30 * 86_400, 'whole seconds').optional(),
    logFormat: z.enum(['human', 'json'], { error: 'human or json' }),
    listen: z
      .string({ error: 'HOST:PORT or none' })
      .regex(/^(?:none|[A-Za-z0-9.-]+:\d{1,5})$/, 'HOST:PORT for /metrics, /healthz and /status, or none'),
    socket: absolutePath().optional(),
    followSnapshot: z.boolean({ error: 'true or false' }),
    followIntervalSeconds: wholeNumber(1, 86_400, 'whole seconds'),
    cvmfsDir: absolutePath(),
    /** Slot counts by time window; `slots` outside them. */
    schedule: scheduleSchema(slotCount()).optional(),
    /** WLCG machine features' shutdown time (a Unix time), followed as a drain deadline; else $MACHINEFEATURES's. */
    shutdownTimeFile: absolutePath().optional(),
    /** Seconds between looks at tokenFile: a rotated token reaches the running slots within this. */
    tokenCheckSeconds: wholeNumber(1, 3600, 'whole seconds'),
    /** What jobs learn about this host through HEPiX MJF (`$MACHINEFEATURES`), beyond what the factory knows. */
    machineFeatures: z
      .object({
        /** The host's HEP-SPEC06 rating: MJF `hs06`, and each slot's share of it as `hs06_job`. */
        hs06: z.number({ error: 'a positive number' }).positive('a positive number').max(1_000_000, 'at most 1000000'),
      })
      .partial()
      .strict()
      .optional(),
    /** A slot unhealthy this long is drained (its job finishes) and replaced; 0 = never. File only; default 600. */
    unhealthyDrainSeconds: wholeNumber(0, 604_800, 'whole seconds').optional(),
    /** Black-hole guard: this many failed jobs in a row, each within blackholeSeconds, drain a slot; 0 = never. */
    blackholeJobs: wholeNumber(0, MAX_JOB_ENDS, 'a whole number').optional(),
    blackholeSeconds: wholeNumber(1, 86_400, 'whole seconds').optional(),
  })
  .strict();

export type FactoryConfig = z.output<typeof factoryConfigSchema>;

export const CONFIG_DEFAULTS: Omit<FactoryConfig, 'slots'> = {
  name: 'docker-cernvm',
  image: 'cernvm:4',
  slotCommand: 'pilot',
  collector: '127.0.0.1:9618',
  tokenFile: '/etc/docker-cernvm/pool.token',
  networkMode: 'host',
  coresPerSlot: 1,
  pin: true,
  memoryMb: 2048,
  pidsLimit: DEFAULT_PIDS_LIMIT,
  stateDir: '/var/lib/docker-cernvm/factory',
  scratchDir: '/var/lib/docker-cernvm/scratch',
  resyncSeconds: 30,
  concurrency: 8,
  onExit: 'leave',
  stopTimeoutSeconds: 30,
  logFormat: 'human',
  listen: '127.0.0.1:9720',
  followSnapshot: false,
  followIntervalSeconds: 300,
  cvmfsDir: '/cvmfs',
  tokenCheckSeconds: 10,
};

/** Where each key's value came from, so an error can name the file line's key, the variable or the flag. */
export type ValueSource =
  { kind: 'file'; file: string } | { kind: 'env'; variable: string } | { kind: 'flag'; flag: string };

export function describeSource(key: string, source: ValueSource | undefined): string {
  if (!source) return key;
  if (source.kind === 'file') return `${source.file}: ${key}`;
  if (source.kind === 'env') return `${source.variable}`;
  return `--${source.flag}`;
}

/** Validates the merged layers; the first problem becomes one FactoryError line naming where it came from. */
export function checkFactoryConfig(
  merged: Record<string, unknown>,
  sources: ReadonlyMap<string, ValueSource>,
): FactoryConfig {
  const parsed = factoryConfigSchema.safeParse({ ...CONFIG_DEFAULTS, ...merged });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const top = String(issue.path[0] ?? '');
  const source = sources.get(top);
  if (issue.code === 'unrecognized_keys') {
    // Flags are checked by the parser and variables map to known keys: an unknown key is the file's.
    const file = [...sources.values()].find((s) => s.kind === 'file');
    const key = [...issue.path, issue.keys[0]].join('.');
    // Quoted and escaped: the key is the file's, and may hold a quote, a tab or a newline.
    throw new FactoryError(
      'E_BAD_CONFIG',
      printable(`${file?.kind === 'file' ? `${file.file}: ` : ''}unknown key ${JSON.stringify(key)}`),
    );
  }
  const code = source?.kind === 'file' ? 'E_BAD_CONFIG' : top === 'slots' ? 'E_BAD_SLOTS' : 'E_BAD_OPTION';
  throw new FactoryError(
    code,
    printable(`${describeSource(keyPath(issue.path), source)}: expected ${expectation(issue)}`),
  );
}

/** zod's own type names, in the words of a YAML file. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  record: 'a mapping',
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

/** What the schema expected, as the tail of "<where>: expected …": ours where we wrote one, never zod's "Invalid input". */
function expectation(issue: z.core.$ZodIssue): string {
  // A record key's own message is inside; the outer one only says "Invalid key in record".
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? 'a valid name';
  if (issue.code === 'invalid_type' && /^Invalid input/.test(issue.message))
    return TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
  return issue.message;
}
