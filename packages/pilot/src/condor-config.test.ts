import { describe, expect, it } from '@jest/globals';
import { classAdLiteral, idleCheckInterval, renderConfigSnippets } from './condor-config.js';
import { checkPilotOptions, type PilotOptionsInput } from './options.js';
import { render } from './render.js';
import { type CondorConfig, parseCondorConfig } from './testing/condor-config-parser.js';
import { MINIMAL_INPUT, testOptions } from './testing/pilot-options.js';

/** config.d as HTCondor reads it: every snippet, in the lexical order of the file names. */
function configD(overrides: Partial<PilotOptionsInput> = {}): CondorConfig {
  const snippets = render(testOptions(overrides))
    .filter((file) => file.path.startsWith('config.d/'))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return parseCondorConfig(...snippets.map((file) => file.content));
}

const REMOTE = { collector: 'cm.example.org', networkInterface: '192.0.2.10' } as const;

// One test per row of "What an execute container needs" in design/htcondor-in-containers.md: each was a real failure.
describe('the knobs every execute container needs', () => {
  it('turns family sessions off (the startd took the collector on the same host for its own family)', () => {
    expect(configD().get('SEC_USE_FAMILY_SESSION')).toBe('False');
  });

  it('turns IPv6 off (the shadow could not reach the starter at the advertised IPv6 address)', () => {
    expect(configD().get('ENABLE_IPV6')).toBe('False');
  });

  it('does not run jobs as their owner (who has no account in the container)', () => {
    expect(configD().get('STARTER_ALLOW_RUNAS_OWNER')).toBe('False');
  });

  it('names the master and the startd after the slot, so two slots on one host differ', () => {
    const one = configD({ slotName: 'slot-0' });
    const two = configD({ slotName: 'slot-1' });
    expect([one.get('MASTER_NAME'), one.get('STARTD_NAME')]).toEqual(['slot-0', 'slot-0']);
    expect([two.get('MASTER_NAME'), two.get('STARTD_NAME')]).toEqual(['slot-1', 'slot-1']);
  });

  it('advertises one CPU by default and the number asked for otherwise, never the whole host', () => {
    expect(configD().get('NUM_CPUS')).toBe('1');
    expect(configD({ cpus: 4 }).get('NUM_CPUS')).toBe('4');
  });

  it('sets MEMORY when it is a number', () => {
    const config = configD({ memoryMb: 2048 });
    expect(config.get('MEMORY')).toBe('2048');
  });

  it('leaves MEMORY to the entrypoint (the container limit) when it is auto', () => {
    const config = configD({ memoryMb: 'auto' });
    expect(config.has('MEMORY')).toBe(false);
    expect(configD().has('MEMORY')).toBe(false);
  });

  it('does not share a port between masters on one host', () => {
    expect(configD().get('USE_SHARED_PORT')).toBe('False');
    expect(configD({ networkMode: 'bridge' }).get('USE_SHARED_PORT')).toBe('False');
  });

  it('binds NETWORK_INTERFACE on the host network: 127.0.0.1 for a local collector, else the address given', () => {
    expect(configD().get('NETWORK_INTERFACE')).toBe('127.0.0.1');
    expect(configD(REMOTE).get('NETWORK_INTERFACE')).toBe('192.0.2.10');
    expect(configD().has('CCB_ADDRESS')).toBe(false);
  });

  it('uses CCB (the collector by default) and no NETWORK_INTERFACE behind the bridge', () => {
    const viaCollector = configD({ collector: 'cm.example.org:9620', networkMode: 'bridge' });
    expect(viaCollector.get('CCB_ADDRESS')).toBe('cm.example.org:9620');
    expect(viaCollector.has('NETWORK_INTERFACE')).toBe(false);
    expect(configD({ networkMode: 'bridge', ccbAddress: 'ccb.example.org:9700' }).get('CCB_ADDRESS')).toBe(
      'ccb.example.org:9700',
    );
  });

  it('makes one static slot with all of the container, not a partitionable one', () => {
    const config = configD({ cpus: 2 });
    expect(config.get('NUM_SLOTS')).toBe('1');
    expect(config.get('NUM_SLOTS_TYPE_1')).toBe('1');
    expect(config.get('SLOT_TYPE_1')).toBe('100%');
    expect(config.get('SLOT_TYPE_1_PARTITIONABLE')).toBe('False');
  });

  it('runs only a master and a startd', () => {
    const config = configD();
    expect(config.get('DAEMON_LIST')?.split(/[\s,]+/)).toEqual(['MASTER', 'STARTD']);
    expect(config.uses).toContain('ROLE:Execute');
  });
});

describe('authentication and the pool', () => {
  it('authenticates with IDTOKENS', () => {
    const methods = configD()
      .get('SEC_DEFAULT_AUTHENTICATION_METHODS')
      ?.split(/[\s,]+/);
    expect(methods).toContain('IDTOKENS');
  });

  it('sets TRUST_DOMAIN, and UID_DOMAIN to the same unless told otherwise', () => {
    const same = configD({ trustDomain: 'pool.example.org' });
    expect([same.get('TRUST_DOMAIN'), same.get('UID_DOMAIN')]).toEqual(['pool.example.org', 'pool.example.org']);
    const different = configD({ trustDomain: 'pool.example.org', uidDomain: 'users.example.org' });
    expect([different.get('TRUST_DOMAIN'), different.get('UID_DOMAIN')]).toEqual([
      'pool.example.org',
      'users.example.org',
    ]);
  });

  it('allows the pool identity (condor@<trust domain>) as a daemon, keeping the defaults', () => {
    expect(configD().get('ALLOW_DAEMON')).toBe('condor@$(TRUST_DOMAIN)');
  });

  it("points SEC_TOKEN_SYSTEM_DIRECTORY at the token file's directory", () => {
    expect(configD().get('SEC_TOKEN_SYSTEM_DIRECTORY')).toBe('/pilot/tokens.d');
    expect(configD({ pilotDir: '/srv/pilot' }).get('SEC_TOKEN_SYSTEM_DIRECTORY')).toBe('/srv/pilot/tokens.d');
    expect(configD({ tokenFile: '/etc/condor/tokens.d/pool.token' }).get('SEC_TOKEN_SYSTEM_DIRECTORY')).toBe(
      '/etc/condor/tokens.d',
    );
  });

  it('sets COLLECTOR_HOST to host:port, 9618 by default', () => {
    expect(configD().get('COLLECTOR_HOST')).toBe('127.0.0.1:9618');
    expect(configD({ ...REMOTE, collector: 'cm.example.org:9620' }).get('COLLECTOR_HOST')).toBe('cm.example.org:9620');
    expect(configD(REMOTE).get('CONDOR_HOST')).toBe('cm.example.org');
  });

  it('uses the recommended security metaknob before overriding parts of it', () => {
    expect(configD().uses).toContain('SECURITY:recommended_v9_0');
  });
});

describe('START and the lifecycle', () => {
  it('starts every job by default, or as the START expression says', () => {
    expect(configD({ healthCheckSeconds: 0 }).get('START')).toBe('True');
    expect(configD({ healthCheckSeconds: 0, start: 'TARGET.RequestCpus <= 1' }).get('START')).toBe(
      'TARGET.RequestCpus <= 1',
    );
    // With the health check (the default), a slot found unhealthy starts nothing.
    expect(configD().get('START')).toBe('(True) && (CernvmHealthy =!= False)');
  });

  it('sets no idle shutdown when the idle limit is 0', () => {
    const config = configD({ idleShutdownSeconds: 0, healthCheckSeconds: 0 });
    expect(config.has('STARTD_NOCLAIM_SHUTDOWN')).toBe(false);
    expect(config.has('UPDATE_INTERVAL')).toBe(false);
  });

  it('shuts an unclaimed startd down after the idle limit, checking it four times per limit', () => {
    const config = configD({ idleShutdownSeconds: 600, healthCheckSeconds: 0 });
    expect(config.get('STARTD_NOCLAIM_SHUTDOWN')).toBe('600');
    expect(config.get('UPDATE_INTERVAL')).toBe('150');
  });

  it.each([
    [8, 5],
    [20, 5],
    [23, 5],
    [24, 6],
    [600, 150],
    [1200, 300],
    [86_400, 300],
  ])('checks an idle limit of %i s every %i s (between 5 and 300)', (idle, interval) => {
    expect(idleCheckInterval(idle)).toBe(interval);
    expect(configD({ idleShutdownSeconds: idle, healthCheckSeconds: 0 }).get('UPDATE_INTERVAL')).toBe(String(interval));
  });

  it.each([
    [0, 60, 60],
    [0, 2, 5],
    [0, 900, 300],
    [600, 60, 60],
    [24, 60, 6],
  ])('with idle limit %i s and health period %i s, updates the collector every %i s', (idle, health, interval) => {
    const config = configD({ idleShutdownSeconds: idle, healthCheckSeconds: health });
    expect(config.get('UPDATE_INTERVAL')).toBe(String(interval));
  });

  it('writes no lifecycle snippet without an idle limit', () => {
    expect(renderConfigSnippets(testOptions({ healthCheckSeconds: 0 })).map((s) => s.name)).not.toContain(
      '40-lifecycle.conf',
    );
  });

  it('sets DISK in KB when a disk size is given, and leaves it alone otherwise', () => {
    expect(configD({ diskMb: 10 }).get('DISK')).toBe('10240');
    expect(configD().has('DISK')).toBe(false);
  });
});

describe('extra slot attributes', () => {
  it('renders strings, numbers and booleans as ClassAd literals', () => {
    const config = configD({
      attributes: { CernVM_Version: '4.7.1', SlotIndex: 3, Ratio: -0.5, IsPilot: true, IsTest: false },
    });
    expect(config.get('CernVM_Version')).toBe('"4.7.1"');
    expect(config.get('SlotIndex')).toBe('3');
    expect(config.get('Ratio')).toBe('-0.5');
    expect(config.get('IsPilot')).toBe('True');
    expect(config.get('IsTest')).toBe('False');
  });

  it('escapes quotes and backslashes inside a string', () => {
    expect(configD({ attributes: { Note: 'say "hi" \\o/' } }).get('Note')).toBe('"say \\"hi\\" \\\\o/"');
  });

  it('lists every attribute in STARTD_ATTRS so the slot ad carries it', () => {
    const listed = configD({ attributes: { B_Attr: 1, A_Attr: 'x' } })
      .get('STARTD_ATTRS')
      ?.split(/\s+/);
    expect(listed).toEqual(['CernvmDeadline', 'CernvmSecondsLeft', 'A_Attr', 'B_Attr']);
  });

  it('writes no attributes snippet when there are none', () => {
    expect(renderConfigSnippets(testOptions()).map((s) => s.name)).not.toContain('50-attributes.conf');
    expect(configD().get('STARTD_ATTRS')).toBe('CernvmDeadline CernvmSecondsLeft');
  });

  it('refuses, as an attribute name, every knob the pilot renders (it would replace ours)', () => {
    const everything = configD({ memoryMb: 2048, diskMb: 10, idleShutdownSeconds: 60, attributes: { Extra: 1 } });
    const bridge = configD({ networkMode: 'bridge' });
    // A knob for one local name (SLOT_TYPE_1.STARTER_LOG) is no attribute name at all, refused as such.
    const knobs = new Set(
      [...everything.keys(), ...bridge.keys()].filter((key) => key !== 'EXTRA' && !key.includes('.')),
    );
    expect(knobs.size).toBeGreaterThan(25);
    for (const knob of knobs) {
      for (const name of [knob, knob.toLowerCase()]) {
        expect(() => checkPilotOptions({ ...MINIMAL_INPUT, attributes: { [name]: 1 } })).toThrow(
          expect.objectContaining({ code: 'E_BAD_OPTION', message: expect.stringContaining(`attributes.${name}:`) }),
        );
      }
    }
  });
});

describe('the slot deadline', () => {
  it('includes the deadline file from the pilot directory when it is there, and advertises the seconds left', () => {
    const snippet = renderConfigSnippets(testOptions({ pilotDir: '/pilot' })).find(
      (s) => s.name === '45-deadline.conf',
    );
    expect(snippet?.content).toContain('\ninclude ifexist : /pilot/deadline.conf\n');
    // After the retirement expression, so the entrypoint's stop file (retirement 0 on SIGTERM) replaces it.
    expect(snippet?.content.indexOf('\ninclude ifexist : $(LOG)/cernvm-stop.conf\n')).toBeGreaterThan(
      snippet?.content.indexOf('\nMAXJOBRETIREMENTTIME = ') ?? Infinity,
    );
    expect(snippet?.content).toContain('\nCernvmSecondsLeft = (CernvmDeadline - time())\n');
    expect(configD().get('STARTD_ATTRS')?.split(/\s+/)).toEqual(['CernvmDeadline', 'CernvmSecondsLeft']);
  });

  it('ends retirement at the deadline (unlimited without one, none for a job the policy holds) and sends the soft kill vacateSeconds before it', () => {
    expect(configD().get('MAXJOBRETIREMENTTIME')).toBe(
      'ifThenElse($(WANT_HOLD:false), 0, ifThenElse(isUndefined(MY.CernvmDeadline), 315360000, MY.CernvmDeadline - MY.JobStart))',
    );
    expect(configD().get('MachineMaxVacateTime')).toBe('30');
    expect(configD({ vacateSeconds: 5 }).get('MachineMaxVacateTime')).toBe('5');
  });
});

// What a slot skips at start (design/htcondor-in-containers.md lists where a one-slot startd spends its start).
describe('the start (32-start.conf)', () => {
  it('keeps the compiled transfer plugins and drops the Python ones, which the startd runs at every start', () => {
    expect(configD().get('FILETRANSFER_PLUGINS')).toBe('$(LIBEXEC)/curl_plugin, $(LIBEXEC)/data_plugin');
  });

  it('probes no Docker universe, no GPU, and tunes no kernel', () => {
    const config = configD();
    expect([config.get('DOCKER'), config.get('STARTD_DETECT_GPUS'), config.get('LINUX_KERNEL_TUNING_SCRIPT')]).toEqual([
      '',
      'false',
      '',
    ]);
  });

  it('keeps condor_procd: the starter without it crashed when a multi-process job ended, requeuing it', () => {
    expect(configD().has('USE_PROCD')).toBe(false);
  });

  it('leaves each to a site snippet, read after it', () => {
    const config = configD({ siteSnippets: [{ name: 'java.conf', content: 'DOCKER = /usr/bin/docker\n' }] });
    expect(config.get('DOCKER')).toBe('/usr/bin/docker');
  });
});

describe('job ends (46-job-ends.conf)', () => {
  it('has the starter log to one fixed file with Unix times, where the entrypoint reads each job end', () => {
    const config = configD();
    expect(config.get('STARTER_LOG_NAME_APPEND')).toBe('false');
    // The starter runs under its slot type's local name, which would otherwise name its log SlotType1Log.
    expect(config.get('SLOT_TYPE_1.STARTER_LOG')).toBe(config.get('STARTER_LOG'));
    expect(config.get('STARTER_LOG')).toMatch(/\/StarterLog$/);
    // Added to what the image sets (the parser here expands the image's unset value to nothing).
    expect(config.get('STARTER_DEBUG')?.split(/\s+/)).toContain('D_TIMESTAMP');
  });
});

describe('the limits (34-limits.conf)', () => {
  it("holds a job whose DiskUsage passes the slot's Disk, with HTCondor's own policy", () => {
    expect(configD().uses).toContain('POLICY:HOLD_IF_DISK_EXCEEDED');
  });

  it('measures DiskUsage every minute, not every five, so a filling job is caught early', () => {
    expect(configD().get('STARTER_UPDATE_INTERVAL')).toBe('60');
  });

  it('leaves the interval to a site snippet (the isolation test makes it seconds)', () => {
    const config = configD({ siteSnippets: [{ name: 'fast.conf', content: 'STARTER_UPDATE_INTERVAL = 5\n' }] });
    expect(config.get('STARTER_UPDATE_INTERVAL')).toBe('5');
  });
});

describe('classAdLiteral', () => {
  it.each<[string | number | boolean, string]>([
    ['plain', '"plain"'],
    ['', '""'],
    ['a"b', '"a\\"b"'],
    ['a\\b', '"a\\\\b"'],
    ['\\"', '"\\\\\\""'],
    [42, '42'],
    [-7, '-7'],
    [1.25, '1.25'],
    [true, 'True'],
    [false, 'False'],
  ])('writes %j as %s', (value, literal) => {
    expect(classAdLiteral(value)).toBe(literal);
  });
});

describe('site snippets', () => {
  const siteSnippets = [
    { name: 'local.conf', content: 'NUM_CPUS = 8\nSITE_KNOB = first' },
    { name: 'zz-extra', content: 'SITE_KNOB = second\n' },
  ];

  it("come after the pilot's own snippets when HTCondor sorts config.d", () => {
    const names = renderConfigSnippets(testOptions({ siteSnippets, attributes: { A: 1 } })).map((s) => s.name);
    expect(names).toEqual([...names].sort());
    expect(names.slice(-2)).toEqual(['90-site-00-local.conf', '90-site-01-zz-extra.conf']);
  });

  it("override the pilot's knobs, and a later site snippet overrides an earlier one", () => {
    const config = configD({ siteSnippets });
    expect(config.get('NUM_CPUS')).toBe('8');
    expect(config.get('SITE_KNOB')).toBe('second');
  });

  it('end in a newline, so the next file does not continue their last line', () => {
    for (const snippet of renderConfigSnippets(testOptions({ siteSnippets })))
      expect(snippet.content.endsWith('\n')).toBe(true);
  });
});

describe('every snippet', () => {
  it.each<[string, Partial<PilotOptionsInput>]>([
    ['defaults', {}],
    [
      'host mode with everything set',
      { ...REMOTE, memoryMb: 4096, diskMb: 1, idleShutdownSeconds: 60, attributes: { A: 'x' } },
    ],
    ['bridge mode', { networkMode: 'bridge' }],
  ])('is HTCondor config, line by line (%s)', (_, overrides) => {
    for (const snippet of renderConfigSnippets(testOptions(overrides))) {
      expect(() => parseCondorConfig(snippet.content)).not.toThrow();
    }
  });
});

describe('what jobs get (35-jobs.conf)', () => {
  it('renders nothing when there is no scratch directory and no job environment', () => {
    expect(render(testOptions()).map((f) => f.path)).not.toContain('config.d/35-jobs.conf');
    expect(configD().has('EXECUTE')).toBe(false);
    expect(configD().has('STARTER_JOB_ENVIRONMENT')).toBe(false);
  });

  it('points EXECUTE at the scratch directory', () => {
    expect(configD({ executeDir: '/scratch' }).get('EXECUTE')).toBe('/scratch');
  });

  it('renders the job environment in HTCondor’s quoted syntax, sorted, quotes doubled', () => {
    const config = configD({ jobEnvironment: { VO_SITE: 'T2 test', QUOTED: `it's "x"`, EMPTY: '' } });
    expect(config.get('STARTER_JOB_ENVIRONMENT')).toBe(`"EMPTY='' QUOTED='it''s ""x""' VO_SITE='T2 test'"`);
  });

  it('is the job’s environment, not the startd’s: nothing of it goes to the container', () => {
    const files = render(testOptions({ jobEnvironment: { VO_SITE: 'x' } }));
    expect(files.filter((f) => f.content.includes('VO_SITE')).map((f) => f.path)).toEqual(['config.d/35-jobs.conf']);
  });

  it('refuses EXECUTE and STARTER_JOB_ENVIRONMENT as attributes', () => {
    for (const name of ['EXECUTE', 'STARTER_JOB_ENVIRONMENT']) {
      expect(() => testOptions({ attributes: { [name]: 'x' } })).toThrow(/a name HTCondor does not set itself/);
    }
  });
});
