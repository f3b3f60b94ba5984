import { printable } from '@docker-cernvm/cli-kit';
import * as z from 'zod';
import { PilotError } from './errors.js';
import { keyPath } from './key-path.js';
import { type SlotMount, checkMountTargets, isWithin, mountsSchema } from './mounts.js';
import { absolutePath, envName, wholeNumber } from './value-rules.js';

/** Everything that decides one slot's HTCondor configuration; validated, with defaults applied. */
export interface PilotOptions {
  collector: { host: string; port: number };
  trustDomain: string;
  uidDomain: string;
  /** Where the token is inside the container; HTCondor reads every file in its directory. */
  tokenFile: string;
  /** Where the rendered files are inside the container. */
  pilotDir: string;
  slotName: string;
  cpus: number;
  /** `auto`: the container's memory limit, read by the entrypoint when it starts. */
  memoryMb: number | 'auto';
  diskMb: number | undefined;
  network: { mode: 'host'; interface: string } | { mode: 'bridge'; ccbAddress: string };
  /** 0 = never: an unclaimed pilot otherwise exits 0 after this long. */
  idleShutdownSeconds: number;
  /** 0 = never: otherwise the pilot drains once it has run this long (its job may finish). */
  maxLifetimeSeconds: number;
  /** How long before its deadline a job gets its soft kill signal; at the deadline it is killed. */
  vacateSeconds: number;
  heartbeatSeconds: number;
  start: string;
  attributes: Readonly<Record<string, string | number | boolean>>;
  siteSnippets: readonly SiteSnippet[];
  /** Non-secret variables every job gets (HTCondor's STARTER_JOB_ENVIRONMENT), not the startd's own environment. */
  jobEnvironment: Readonly<Record<string, string>>;
  /** HTCondor's EXECUTE in the container (where the slot's host scratch directory is mounted); unset: the image's. */
  executeDir: string | undefined;
  /** Host paths bound into the container (CVMFS, site files); used by `run` and the factory, not rendered. */
  mounts: readonly SlotMount[];
  /** 0 = no health check: otherwise the startd checks the slot this often, and START requires it healthy. */
  healthCheckSeconds: number;
  /** The scratch directory's free space below which the slot is unhealthy. */
  healthMinFreeMb: number;
}

export interface SiteSnippet {
  name: string;
  content: string;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST_PORT = /^(?<host>[^:\s]+)(?::(?<port>\d{1,5}))?$/;
const DOMAIN = HOST;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/**
 * Names an attribute must not take: the slot ad's own, and every knob the pilot renders (an attribute is written as a
 * config knob, so `NUM_CPUS` or `SEC_USE_FAMILY_SESSION` as an attribute would silently replace ours).
 */
const RESERVED_ATTRIBUTES = new Set([
  ...['start', 'name', 'state', 'activity', 'cpus', 'memory', 'disk', 'machine'],
  ...[
    'condor_host',
    'collector_host',
    'trust_domain',
    'uid_domain',
    'allow_daemon',
    'sec_default_authentication_methods',
  ],
  ...['sec_token_system_directory', 'sec_use_family_session', 'use_shared_port', 'enable_ipv6', 'network_interface'],
  ...[
    'ccb_address',
    'daemon_list',
    'master_name',
    'startd_name',
    'num_cpus',
    'num_slots',
    'num_slots_type_1',
    'slot_type_1',
  ],
  ...[
    'slot_type_1_partitionable',
    'starter_allow_runas_owner',
    'runbenchmarks',
    'startd_noclaim_shutdown',
    'update_interval',
  ],
  ...['filetransfer_plugins', 'docker', 'startd_detect_gpus', 'linux_kernel_tuning_script', 'use_procd'],
  ...['startd_attrs', 'cernvmdeadline', 'cernvmsecondsleft', 'maxjobretirementtime', 'machinemaxvacatetime'],
  ...['execute', 'starter_job_environment', 'starter_update_interval'],
  ...['startd_cron_joblist', 'cernvmhealthy', 'cernvmunhealthyreason'],
  ...['executable', 'mode', 'period', 'kill'].map((knob) => `startd_cron_cernvmhealth_${knob}`),
  ...['starter_log', 'starter_log_name_append', 'starter_debug'],
]);

/** Names that say "secret": the job environment is written into the slot's configuration, readable by every job. */
const SECRET_NAME = /TOKEN|PASSW(?:OR)?D|PASSPHRASE|SECRET|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY/i;

/** One job environment value: printable, one line, and no `$` (HTCondor's configuration would expand `$(...)`). */
const jobEnvValue = z
  .string({ error: 'a string value' })
  .max(4000, 'at most 4000 characters')
  .refine((value) => ![...value].some((c) => c < ' ' || c === '\x7f'), 'one line of printable characters')
  .refine(
    (value) => !value.includes('$'),
    'a value without $ (HTCondor would expand $(...); jobs see no shell expansion)',
  );

export const jobEnvironmentSchema = z.record(
  envName
    .refine((name) => !/^_?CONDOR_/i.test(name), 'a name HTCondor does not set itself (not _CONDOR_*)')
    .refine(
      (name) => !SECRET_NAME.test(name),
      'a non-secret name: the job environment is in the slot configuration every job can read (pass secrets as files)',
    ),
  jobEnvValue,
);

const hostPort = z
  .string()
  .regex(HOST_PORT, 'a host name or address with an optional :port')
  .refine((value) => HOST.test(value.split(':')[0] ?? ''), 'a host name or IPv4 address, not a URL')
  .refine((value) => {
    const port = Number(value.split(':')[1] ?? '9618');
    return port >= 1 && port <= 65535;
  }, 'a port between 1 and 65535');

/** The container's memory in MB: the pilot's `memoryMb` when not `auto`, and the factory's per-slot limit. */
export const memoryMbSchema = wholeNumber(64, 16_777_216, 'whole megabytes');

const oneLine = z
  .string()
  .min(1, 'not empty')
  .max(4000, 'at most 4000 characters')
  .refine((value) => !/[\n\r\0]/.test(value), 'one line');

/** The shape of a pilot configuration file (YAML or JSON) and of the flags, before defaults. */
export const pilotOptionsSchema = z
  .object({
    collector: hostPort,
    trustDomain: z.string().regex(DOMAIN, 'a domain name like pool.example.org'),
    uidDomain: z.string().regex(DOMAIN, 'a domain name like pool.example.org').optional(),
    tokenFile: absolutePath().optional(),
    pilotDir: absolutePath().optional(),
    slotName: z.string().regex(NAME, 'letters, digits, dot, dash or underscore, at most 63'),
    cpus: wholeNumber(1, 1024, 'a whole number of cores').optional(),
    memoryMb: z.union([z.literal('auto'), memoryMbSchema], { error: 'auto or whole megabytes' }).optional(),
    diskMb: wholeNumber(1, 1_073_741_824, 'whole megabytes').optional(),
    networkMode: z.enum(['host', 'bridge'], { error: 'host or bridge' }).optional(),
    networkInterface: z.string().regex(HOST, 'an address of this host, like 192.0.2.10').optional(),
    ccbAddress: hostPort.optional(),
    idleShutdownSeconds: wholeNumber(0, 31_536_000, 'whole seconds').optional(),
    maxLifetimeSeconds: wholeNumber(0, 31_536_000, 'whole seconds').optional(),
    vacateSeconds: wholeNumber(0, 3600, 'whole seconds').optional(),
    heartbeatSeconds: wholeNumber(1, 300, 'whole seconds').optional(),
    start: oneLine.optional(),
    attributes: z
      .record(
        z
          .string()
          .regex(ATTRIBUTE, 'a ClassAd attribute name')
          .refine((name) => !RESERVED_ATTRIBUTES.has(name.toLowerCase()), 'a name HTCondor does not set itself'),
        z.union([oneLine, z.number().finite(), z.boolean()], { error: 'a one-line string, a number or true/false' }),
      )
      .optional(),
    siteSnippets: z
      .array(
        z
          .object({
            name: z.string().regex(NAME, 'letters, digits, dot, dash or underscore'),
            content: z.string().max(65_536, 'at most 64 KB'),
          })
          .strict(),
      )
      .optional(),
    jobEnvironment: jobEnvironmentSchema.optional(),
    executeDir: absolutePath().optional(),
    mounts: mountsSchema.optional(),
    healthCheckSeconds: wholeNumber(0, 86_400, 'whole seconds').optional(),
    healthMinFreeMb: wholeNumber(0, 1_073_741_824, 'whole megabytes').optional(),
  })
  .strict();

export type PilotOptionsInput = z.input<typeof pilotOptionsSchema>;

export const DEFAULT_PILOT_DIR = '/pilot';
export const DEFAULT_HEARTBEAT_SECONDS = 30;
/** Long enough for a job to checkpoint or report; short, since the cores must be free at the deadline. */
export const DEFAULT_VACATE_SECONDS = 30;
/** Once a minute: a one-slot startd's cheapest period that still takes a broken slot out of matching quickly. */
export const DEFAULT_HEALTH_CHECK_SECONDS = 60;
export const DEFAULT_HEALTH_MIN_FREE_MB = 100;
const DEFAULT_COLLECTOR_PORT = 9618;
const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|localhost)$/;

/** A one-line description of the first problem, naming the key (and the file when there is one). */
export function describeIssue(issue: z.core.$ZodIssue, source?: string): string {
  // Keys come from the file: a tab or a newline in one must not break the line.
  return printable(describeIssueText(issue, source));
}

function describeIssueText(issue: z.core.$ZodIssue, source?: string): string {
  const key = issue.path.length ? keyPath(issue.path) : '(top level)';
  const where = source ? `${source}: ` : '';
  if (issue.code === 'unrecognized_keys')
    return `${where}unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message))
    return `${where}${key}: missing (required)`;
  // zod's own messages start "Invalid input"; ours (like `.int('a whole number')`) say what is expected.
  if (issue.code === 'invalid_type' && /^Invalid input/.test(issue.message))
    return `${where}${key}: expected a ${issue.expected}`;
  // A record key's own message is inside; the outer one only says "Invalid key in record".
  if (issue.code === 'invalid_key') return `${where}${key}: expected ${issue.issues[0]?.message ?? 'a valid name'}`;
  return `${where}${key}: expected ${issue.message}`;
}

/** Validates raw options (from a file, flags, or code) and applies the defaults; throws PilotError E_BAD_OPTION. */
export function checkPilotOptions(input: unknown, source?: string): PilotOptions {
  const parsed = pilotOptionsSchema.safeParse(input);
  if (!parsed.success) throw badInput(parsed.error.issues, source);
  const raw = parsed.data;
  const [host = '', port] = raw.collector.split(':');
  const pilotDir = raw.pilotDir ?? DEFAULT_PILOT_DIR;
  return {
    collector: { host, port: port ? Number(port) : DEFAULT_COLLECTOR_PORT },
    trustDomain: raw.trustDomain,
    uidDomain: raw.uidDomain ?? raw.trustDomain,
    tokenFile: raw.tokenFile ?? `${pilotDir}/tokens.d/pool.token`,
    pilotDir,
    slotName: raw.slotName,
    cpus: raw.cpus ?? 1,
    memoryMb: raw.memoryMb ?? 'auto',
    diskMb: raw.diskMb,
    network: networkOf(raw, host, source),
    idleShutdownSeconds: raw.idleShutdownSeconds ?? 0,
    maxLifetimeSeconds: raw.maxLifetimeSeconds ?? 0,
    vacateSeconds: raw.vacateSeconds ?? DEFAULT_VACATE_SECONDS,
    heartbeatSeconds: raw.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
    start: raw.start ?? 'True',
    attributes: raw.attributes ?? {},
    siteSnippets: raw.siteSnippets ?? [],
    jobEnvironment: raw.jobEnvironment ?? {},
    executeDir: raw.executeDir,
    mounts: checkedMounts(raw, pilotDir, source),
    healthCheckSeconds: raw.healthCheckSeconds ?? DEFAULT_HEALTH_CHECK_SECONDS,
    healthMinFreeMb: raw.healthMinFreeMb ?? DEFAULT_HEALTH_MIN_FREE_MB,
  };
}

/** The mounts, none of them on (or over) the slot's own pilot directory, token or scratch. */
function checkedMounts(
  raw: z.output<typeof pilotOptionsSchema>,
  pilotDir: string,
  source?: string,
): readonly SlotMount[] {
  const mounts = raw.mounts ?? [];
  const code = source ? 'E_BAD_CONFIG' : 'E_BAD_OPTION';
  if (raw.executeDir && (isWithin(raw.executeDir, pilotDir) || isWithin(pilotDir, raw.executeDir))) {
    throw new PilotError(
      code,
      `${source ? `${source}: ` : ''}executeDir: expected a path apart from the pilot directory ${pilotDir}`,
    );
  }
  const reserved = [pilotDir, raw.tokenFile, raw.executeDir].filter((p): p is string => p !== undefined);
  const problem = checkMountTargets(mounts, reserved);
  if (problem) throw new PilotError(code, `${source ? `${source}: ` : ''}${problem}`);
  return mounts;
}

/**
 * Checks only the keys a file sets (the flags may add the others), so a bad value there always names the file;
 * throws PilotError E_BAD_CONFIG.
 */
export function checkOptionsFile(input: unknown, source: string): void {
  const parsed = pilotOptionsSchema.partial().safeParse(input);
  if (!parsed.success) throw badInput(parsed.error.issues, source);
}

function badInput(issues: readonly z.core.$ZodIssue[], source?: string): PilotError {
  const first = issues[0];
  return new PilotError(
    source ? 'E_BAD_CONFIG' : 'E_BAD_OPTION',
    first ? describeIssue(first, source) : 'invalid options',
  );
}

function networkOf(
  raw: z.output<typeof pilotOptionsSchema>,
  collectorHost: string,
  source?: string,
): PilotOptions['network'] {
  const where = source ? `${source}: ` : '';
  const code = source ? 'E_BAD_CONFIG' : 'E_BAD_OPTION';
  if (raw.networkMode === 'bridge') {
    if (raw.networkInterface) {
      throw new PilotError(code, `${where}networkInterface: expected nothing in bridge mode (use ccbAddress)`);
    }
    return { mode: 'bridge', ccbAddress: raw.ccbAddress ?? raw.collector };
  }
  if (raw.ccbAddress) throw new PilotError(code, `${where}ccbAddress: expected nothing in host mode`);
  // On the host network every pilot shares the host's addresses: HTCondor must be told which one to advertise.
  const address = raw.networkInterface ?? (LOOPBACK.test(collectorHost) ? '127.0.0.1' : undefined);
  if (!address) {
    throw new PilotError(
      code,
      `${where}networkInterface: expected the address this host's pilots advertise to the collector (host network)`,
    );
  }
  return { mode: 'host', interface: address };
}
