import { DEADLINE_FILE } from './deadline-file.js';
import { healthSnippet } from './health-check.js';
import type { PilotOptions } from './options.js';

/** One `config.d` snippet: a file name and its text. */
export interface ConfigSnippet {
  name: string;
  content: string;
}

type Knobs = readonly (readonly [name: string, value: string | number, why?: string])[];

function snippet(name: string, header: string, knobs: Knobs): ConfigSnippet {
  const lines = [`# ${header}`, '# Rendered by docker-cernvm-pilot; edit the pilot options, not this file.', ''];
  for (const [key, value, why] of knobs) {
    if (why) lines.push(`# ${why}`);
    // `use CATEGORY : template` is a metaknob and `include : file` a directive, both written without an equals sign.
    const directive = key.startsWith('use ') || key.startsWith('include ');
    lines.push((directive ? `${key} ${value}` : `${key} = ${value}`).trimEnd());
  }
  return { name, content: `${lines.join('\n')}\n` };
}

/** A ClassAd literal: strings quoted with `\` and `"` escaped, numbers and booleans as they are. */
export function classAdLiteral(value: string | number | boolean): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The top-level file CONDOR_CONFIG names: the distribution's paths, then only this slot's snippets. */
export function renderTopLevelConfig(options: PilotOptions): string {
  return [
    '# Rendered by docker-cernvm-pilot. The image keeps its own paths (LOG, SPOOL, EXECUTE, ...);',
    "# its config.d is replaced by this slot's, so nothing in the image changes how the slot joins the pool.",
    'include : /etc/condor/condor_config',
    'LOCAL_CONFIG_FILE =',
    `LOCAL_CONFIG_DIR = ${options.pilotDir}/config.d`,
    '',
  ].join('\n');
}

function poolSnippet(o: PilotOptions): ConfigSnippet {
  const tokenDir = o.tokenFile.slice(0, o.tokenFile.lastIndexOf('/')) || '/';
  return snippet('10-pool.conf', 'The pool: where the collector is, who we are, how we authenticate.', [
    ['use SECURITY', ': recommended_v9_0'],
    ['CONDOR_HOST', o.collector.host],
    ['COLLECTOR_HOST', `${o.collector.host}:${o.collector.port}`],
    ['TRUST_DOMAIN', o.trustDomain],
    ['UID_DOMAIN', o.uidDomain],
    ['SEC_DEFAULT_AUTHENTICATION_METHODS', 'FS, IDTOKENS'],
    [
      'SEC_TOKEN_SYSTEM_DIRECTORY',
      tokenDir,
      'The pool token is mounted here read-only; HTCondor reads it, nobody else does.',
    ],
    ['ALLOW_DAEMON', 'condor@$(TRUST_DOMAIN) $(ALLOW_DAEMON)'],
    [
      'SEC_USE_FAMILY_SESSION',
      'False',
      'On the host network every daemon shares the host: with family sessions the startd takes the collector for its own family and every update is rejected.',
    ],
  ]);
}

function networkSnippet(o: PilotOptions): ConfigSnippet {
  const knobs: [string, string | number, string?][] = [
    ['USE_SHARED_PORT', 'False', 'Several masters share one host: each binds its own ports.'],
    ['ENABLE_IPV6', 'False', "With the host's IPv6 address advertised, the shadow could not reach the starter."],
  ];
  if (o.network.mode === 'host') {
    knobs.push(['NETWORK_INTERFACE', o.network.interface, 'The address this slot advertises on the host network.']);
  } else {
    knobs.push(['CCB_ADDRESS', o.network.ccbAddress, 'Behind the bridge: the schedd reaches the startd through CCB.']);
  }
  return snippet('20-network.conf', "The network: this slot's own ports and address.", knobs);
}

function slotSnippet(o: PilotOptions): ConfigSnippet {
  const knobs: [string, string | number, string?][] = [
    ['use ROLE', ': Execute'],
    ['DAEMON_LIST', 'MASTER, STARTD'],
    ['MASTER_NAME', o.slotName, 'Several startds on one host must not share a name.'],
    ['STARTD_NAME', o.slotName],
    ['NUM_CPUS', o.cpus, 'Otherwise the startd advertises the whole host.'],
  ];
  // With memoryMb auto the entrypoint sets MEMORY from the container's limit (_CONDOR_MEMORY) when it starts.
  if (o.memoryMb !== 'auto') knobs.push(['MEMORY', o.memoryMb]);
  if (o.diskMb !== undefined) knobs.push(['DISK', o.diskMb * 1024, 'In KB.']);
  knobs.push(
    ['NUM_SLOTS', 1, 'One container is one static slot: no partitionable slot, no dynamic children.'],
    ['NUM_SLOTS_TYPE_1', 1],
    ['SLOT_TYPE_1', '100%'],
    ['SLOT_TYPE_1_PARTITIONABLE', 'False'],
    [
      'STARTER_ALLOW_RUNAS_OWNER',
      'False',
      "The job's owner has no account in this container: run jobs as the slot user.",
    ],
    ['RUNBENCHMARKS', 'False', 'Benchmarks keep a fresh startd busy and delay an idle shutdown.'],
    ['START', o.start],
  );
  return snippet('30-slot.conf', 'The slot: one static slot with the resources of this container.', knobs);
}

/**
 * What a one-core slot skips at start: each one is paid again by every slot, where one startd pays it once. Not
 * condor_procd: without it the starter (HTCondor 23.9) segfaults when a job's process family shrinks, and the job is
 * requeued without end.
 */
function startSnippet(): ConfigSnippet {
  return snippet('32-start.conf', 'The start: no probe or tool a one-core slot has no use for.', [
    [
      'FILETRANSFER_PLUGINS',
      '$(LIBEXEC)/curl_plugin, $(LIBEXEC)/data_plugin',
      'The startd runs each plugin at start to ask what it serves; the Python ones (box, gdrive, onedrive) cost most of a start and need credentials a pilot has not.',
    ],
    ['DOCKER', '', "A slot never gets the engine's socket: no Docker universe to probe."],
    ['STARTD_DETECT_GPUS', 'false', 'A slot has no GPU: no discovery.'],
    ['LINUX_KERNEL_TUNING_SCRIPT', '', "The master tunes the host's kernel at start: a container must not."],
  ]);
}

/** Seconds between the starter's updates of a job's DiskUsage, which the disk policy reads. */
export const USAGE_UPDATE_SECONDS = 60;

/**
 * What HTCondor polices in a slot: a job whose sandbox outgrows the slot's Disk is held (not lost, not retried
 * there), so one job cannot fill the host's scratch file system. The limit is checked, not enforced by the kernel.
 */
function limitsSnippet(): ConfigSnippet {
  return snippet('34-limits.conf', "The limits HTCondor polices: a job past its slot's disk is held.", [
    [
      'use POLICY',
      ': HOLD_IF_DISK_EXCEEDED',
      'WANT_HOLD and PREEMPT when DiskUsage > Disk; the job is held with a reason.',
    ],
    [
      'STARTER_UPDATE_INTERVAL',
      USAGE_UPDATE_SECONDS,
      'DiskUsage is measured this often (300 s by default): a filling job is caught within about a minute.',
    ],
  ]);
}

/**
 * A job environment in HTCondor's quoted (V2) syntax: the whole in double quotes, each value in single quotes, a
 * quote of either kind doubled. Names are sorted, so the same variables always render the same.
 */
export function jobEnvironmentValue(environment: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(environment)
    .sort()
    .map((name) => `${name}='${(environment[name] ?? '').replace(/'/g, "''")}'`);
  return `"${pairs.join(' ').replace(/"/g, '""')}"`;
}

/**
 * Where the pilot learns how each job ended (the heartbeat's jobEnds, which the factory's black-hole guard reads):
 * the starter's own log, under one fixed name and with Unix times, which the entrypoint reads without a process.
 */
function jobEndsSnippet(): ConfigSnippet {
  return snippet('46-job-ends.conf', "Job ends: the starter's log, read by the pilot for each job's end.", [
    ['STARTER_LOG', '$(LOG)/StarterLog'],
    [
      'SLOT_TYPE_1.STARTER_LOG',
      '$(LOG)/StarterLog',
      "The slot's type is the starter's local name: without this it logs to $(LOG)/SlotType1Log.",
    ],
    ['STARTER_LOG_NAME_APPEND', 'false', 'One slot: no slot suffix the pilot would have to guess.'],
    ['STARTER_DEBUG', '$(STARTER_DEBUG) D_TIMESTAMP', 'Unix times, so a job lasts end minus start in bash.'],
  ]);
}

function jobsSnippet(o: PilotOptions): ConfigSnippet | undefined {
  const knobs: [string, string | number, string?][] = [];
  if (o.executeDir) {
    knobs.push([
      'EXECUTE',
      o.executeDir,
      "The slot's scratch directory on the host: job sandboxes live there, not in the container.",
    ]);
  }
  if (Object.keys(o.jobEnvironment).length) {
    knobs.push([
      'STARTER_JOB_ENVIRONMENT',
      jobEnvironmentValue(o.jobEnvironment),
      "Every job's environment starts from these (non-secret) variables; the job's own environment wins.",
    ]);
  }
  if (knobs.length === 0) return undefined;
  return snippet('35-jobs.conf', 'What jobs get: their scratch directory and their environment.', knobs);
}

/** A quarter of the idle limit, between 5 s and HTCondor's default 300 s, so the limit is kept to within 25 %. */
export function idleCheckInterval(idleSeconds: number): number {
  return Math.min(300, Math.max(5, Math.floor(idleSeconds / 4)));
}

/**
 * How often the startd sends its slot ads: often enough for the idle limit and for the health verdict, whose
 * `update:true` request on 23.x refreshes only the startd's daemon ad, not its slot ads; undefined keeps the default.
 */
export function collectorUpdateInterval(o: PilotOptions): number | undefined {
  const wanted = [
    ...(o.idleShutdownSeconds > 0 ? [idleCheckInterval(o.idleShutdownSeconds)] : []),
    ...(o.healthCheckSeconds > 0 ? [Math.min(300, Math.max(5, o.healthCheckSeconds))] : []),
  ];
  return wanted.length === 0 ? undefined : Math.min(...wanted);
}

function lifecycleSnippet(o: PilotOptions): ConfigSnippet | undefined {
  const knobs: [string, string | number, string?][] = [];
  if (o.idleShutdownSeconds > 0) {
    knobs.push(['STARTD_NOCLAIM_SHUTDOWN', o.idleShutdownSeconds, 'An unclaimed pilot ends itself after this long.']);
  }
  const interval = collectorUpdateInterval(o);
  if (interval !== undefined) {
    knobs.push([
      'UPDATE_INTERVAL',
      interval,
      'The startd checks the idle limit, and (before 24.0.18) sends changed health to the collector, only when it updates.',
    ]);
  }
  if (knobs.length === 0) return undefined;
  return snippet('40-lifecycle.conf', 'The lifecycle: how long an unclaimed pilot waits before it ends itself.', knobs);
}

/**
 * The slot's deadline, when the factory gives one: it writes `CernvmDeadline = <Unix time>` into the pilot directory
 * and the entrypoint reconfigures the startd, so a running slot advertises a deadline set later.
 */
function deadlineSnippet(o: PilotOptions): ConfigSnippet {
  return snippet('45-deadline.conf', 'The deadline: when this slot must be empty, and the seconds left until then.', [
    ['include ifexist', `: ${o.pilotDir}/${DEADLINE_FILE}`],
    [
      'CernvmSecondsLeft',
      '(CernvmDeadline - time())',
      "Undefined while there is no deadline; START and jobs' requirements can compare it with the time a job needs.",
    ],
    ['STARTD_ATTRS', '$(STARTD_ATTRS) CernvmDeadline CernvmSecondsLeft'],
    [
      'MAXJOBRETIREMENTTIME',
      'ifThenElse($(WANT_HOLD:false), 0, ifThenElse(isUndefined(MY.CernvmDeadline), 315360000, MY.CernvmDeadline - MY.JobStart))',
      'A drain is a graceful shutdown: the job retires until the deadline, or to its end when there is none. A job the policy holds (past its Disk) does not retire: it would run on unchecked.',
    ],
    [
      'include ifexist',
      ': $(LOG)/cernvm-stop.conf',
      'On SIGTERM the entrypoint sets retirement to 0 there: a stop vacates the job at once, where a drain waits.',
    ],
    [
      'MachineMaxVacateTime',
      String(o.vacateSeconds),
      'The soft kill comes this long before retirement ends, so the cores are free at the deadline. HTCondor reads this name, not MACHINE_MAX_VACATE_TIME.',
    ],
  ]);
}

function attributesSnippet(o: PilotOptions): ConfigSnippet | undefined {
  const names = Object.keys(o.attributes).sort();
  if (names.length === 0) return undefined;
  const knobs: [string, string][] = names.map((name) => [name, classAdLiteral(o.attributes[name] as string)]);
  knobs.push(['STARTD_ATTRS', `$(STARTD_ATTRS) ${names.join(' ')}`]);
  return snippet(
    '50-attributes.conf',
    'Extra attributes every slot ad carries (CernVM version, factory, slot index).',
    knobs,
  );
}

/** The `config.d` snippets in the order HTCondor reads them; site snippets come last and may override anything. */
export function renderConfigSnippets(options: PilotOptions): ConfigSnippet[] {
  const snippets = [
    poolSnippet(options),
    networkSnippet(options),
    slotSnippet(options),
    startSnippet(),
    limitsSnippet(),
    jobsSnippet(options),
    lifecycleSnippet(options),
    deadlineSnippet(options),
    healthSnippet(options),
    jobEndsSnippet(),
    attributesSnippet(options),
  ].filter((s): s is ConfigSnippet => s !== undefined);
  options.siteSnippets.forEach((site, index) => {
    const content = site.content.endsWith('\n') ? site.content : `${site.content}\n`;
    snippets.push({
      name: `90-site-${String(index).padStart(2, '0')}-${site.name.replace(/\.conf$/, '')}.conf`,
      content,
    });
  });
  return snippets;
}
