import { describe, expect, it } from '@jest/globals';
import { PilotError } from '@docker-cernvm/pilot';
import { type FactoryConfig, CONFIG_DEFAULTS, factoryConfigSchema } from './config.js';
import { LABELS } from './labels.js';
import {
  type SlotTemplate,
  cpusetOf,
  slotContainerOptions,
  slotPilotOptions,
  templateHash,
  templateOf,
} from './template.js';
import { testTemplate } from './testing/builders.js';

const MOUNT = { source: '/cvmfs', target: '/cvmfs', readOnly: true, propagation: 'rslave' } as const;
const config = (overrides: Partial<FactoryConfig> = {}): FactoryConfig => ({
  ...CONFIG_DEFAULTS,
  slots: 4,
  ...overrides,
});

describe('templateHash', () => {
  it('is 12 hex digits, the same for the same template', () => {
    const hash = templateHash(testTemplate());
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(templateHash(testTemplate())).toBe(hash);
  });

  it('does not depend on the order keys were written in, at any depth', () => {
    const a = testTemplate({
      environment: { A: '1', B: '2' },
      pilot: { idleShutdownSeconds: 60, attributes: { X: 1, Y: 'y' } },
    });
    const reversed = Object.fromEntries(Object.entries(a).reverse()) as unknown as SlotTemplate;
    const b: SlotTemplate = {
      ...reversed,
      environment: { B: '2', A: '1' },
      pilot: { attributes: { Y: 'y', X: 1 }, idleShutdownSeconds: 60 },
    };
    expect(Object.keys(b)).not.toEqual(Object.keys(a));
    expect(Object.keys(b.pilot)).not.toEqual(Object.keys(a.pilot));
    expect(templateHash(b)).toBe(templateHash(a));
  });

  it('treats a key set to undefined as absent', () => {
    expect(templateHash({ ...testTemplate(), trustDomain: undefined })).toBe(templateHash(testTemplate()));
  });

  it.each<[string, Partial<SlotTemplate>]>([
    ['image', { image: 'cernvm:5' }],
    ['cernvmVersion', { cernvmVersion: '4.7.2' }],
    ['slotCommand', { slotCommand: 'image' }],
    ['collector', { collector: '127.0.0.1:9619' }],
    ['trustDomain', { trustDomain: 'pool.example.org' }],
    ['tokenFile', { tokenFile: '/etc/other.token' }],
    ['networkMode', { networkMode: 'bridge' }],
    ['networkInterface', { networkInterface: '192.0.2.10' }],
    ['coresPerSlot', { coresPerSlot: 2 }],
    ['pin', { pin: true }],
    ['memoryMb', { memoryMb: 4096 }],
    ['an environment value', { environment: { SITE: 'b' } }],
    ['an environment variable added', { environment: { SITE: 'a', MORE: '1' } }],
    ['pilot.idleShutdownSeconds', { pilot: { idleShutdownSeconds: 600 } }],
    ['pilot.attributes', { pilot: { attributes: { Site: 'T2_YY' } } }],
    [
      'the order of pilot.siteSnippets',
      {
        pilot: {
          siteSnippets: [
            { name: 'b', content: '' },
            { name: 'a', content: '' },
          ],
        },
      },
    ],
    [
      'a site snippet’s content',
      {
        pilot: {
          siteSnippets: [
            { name: 'a', content: 'X = 1' },
            { name: 'b', content: '' },
          ],
        },
      },
    ],
    [
      'pilot.jobEnvironment',
      {
        pilot: {
          siteSnippets: [
            { name: 'a', content: '' },
            { name: 'b', content: '' },
          ],
          jobEnvironment: { VO_SITE: 'T2' },
        },
      },
    ],
    ['a mount added', { mounts: [MOUNT] }],
    ['a mount made writable', { mounts: [{ ...MOUNT, readOnly: false }] }],
    ['a mount’s propagation', { mounts: [{ ...MOUNT, propagation: 'rprivate' }] }],
    ['a mount’s target', { mounts: [{ ...MOUNT, target: '/opt/cvmfs' }] }],
    ['the scratch directory', { scratchDir: '/srv/scratch' }],
  ])('changes when %s changes', (_name, change) => {
    const base = testTemplate({
      environment: { SITE: 'a' },
      pilot: {
        siteSnippets: [
          { name: 'a', content: '' },
          { name: 'b', content: '' },
        ],
      },
    });
    const changed = { ...base, ...change };
    expect(templateHash(changed)).not.toBe(templateHash(base));
  });
});

describe('templateOf', () => {
  it('takes what makes two slots the same from the configuration', () => {
    expect(templateOf(config({ trustDomain: 'pool.example.org', networkInterface: '192.0.2.10' }), '4.7.2')).toEqual({
      image: 'cernvm:4',
      cernvmVersion: '4.7.2',
      slotCommand: 'pilot',
      collector: '127.0.0.1:9618',
      trustDomain: 'pool.example.org',
      tokenFile: '/etc/docker-cernvm/pool.token',
      networkMode: 'host',
      networkInterface: '192.0.2.10',
      coresPerSlot: 1,
      pin: true,
      memoryMb: 2048,
      pidsLimit: 4096,
      environment: {},
      mounts: [],
      scratchDir: '/var/lib/docker-cernvm/scratch',
      pilot: {},
    });
  });

  it('hashes the same mounts the same whether the defaults were written out or not', () => {
    const short = factoryConfigSchema.parse({ ...CONFIG_DEFAULTS, slots: 1, mounts: [{ source: '/cvmfs' }] });
    const long = factoryConfigSchema.parse({
      ...CONFIG_DEFAULTS,
      slots: 1,
      mounts: [{ source: '/cvmfs', target: '/cvmfs', readOnly: true, propagation: 'rslave' }],
    });
    expect(templateHash(templateOf(short))).toBe(templateHash(templateOf(long)));
    expect(templateHash(templateOf(short))).not.toBe(templateHash(templateOf(config())));
  });

  it('leaves out what is not set', () => {
    const template = templateOf(config());
    expect(template).not.toHaveProperty('cernvmVersion');
    expect(template).not.toHaveProperty('trustDomain');
    expect(template).not.toHaveProperty('networkInterface');
  });

  it.each<[string, Partial<FactoryConfig>]>([
    ['the slot count', { slots: 64 }],
    ['the factory name', { name: 'other' }],
    ['the state directory', { stateDir: '/srv/factory' }],
    ['the resync interval', { resyncSeconds: 5 }],
    ['the concurrency', { concurrency: 1 }],
    ['what happens on exit', { onExit: 'stop', stopTimeoutSeconds: 5 }],
    ['the log format', { logFormat: 'json' }],
  ])('does not roll the slots over when only %s changes', (_name, change) => {
    expect(templateHash(templateOf(config(change)))).toBe(templateHash(templateOf(config())));
  });
});

describe('slotPilotOptions', () => {
  it('names the slot <factory>-slot-<i> and adds the attributes that identify it', () => {
    const options = slotPilotOptions(
      testTemplate({ cernvmVersion: '4.7.2', pilot: { attributes: { Site: 'T2_XX' } } }),
      'site-a',
      7,
    );
    expect(options.slotName).toBe('site-a-slot-7');
    expect(options.attributes).toEqual({
      Site: 'T2_XX',
      DockerCernvmFactory: 'site-a',
      DockerCernvmSlot: 7,
      CernVMVersion: '4.7.2',
    });
  });

  it('adds no CernVMVersion when the image is not a mounted placeholder', () => {
    expect(slotPilotOptions(testTemplate(), 'f', 0).attributes).not.toHaveProperty('CernVMVersion');
  });

  it('does not let a site attribute replace the ones the factory sets', () => {
    const options = slotPilotOptions(
      testTemplate({ pilot: { attributes: { DockerCernvmSlot: 99, DockerCernvmFactory: 'x' } } }),
      'f',
      2,
    );
    expect(options.attributes).toMatchObject({ DockerCernvmSlot: 2, DockerCernvmFactory: 'f' });
  });

  it.each<[string, Partial<SlotTemplate>, string]>([
    [
      'defaults the trust domain to the collector host',
      { collector: 'cm.example.org:9618', networkInterface: '192.0.2.10' },
      'cm.example.org',
    ],
    [
      'defaults it for a collector without a port',
      { collector: 'cm.example.org', networkInterface: '192.0.2.10' },
      'cm.example.org',
    ],
    [
      'keeps a trust domain that is set',
      { collector: 'cm.example.org', trustDomain: 'pool.example.org', networkInterface: '192.0.2.10' },
      'pool.example.org',
    ],
  ])('%s', (_name, overrides, trustDomain) => {
    expect(slotPilotOptions(testTemplate(overrides), 'f', 0).trustDomain).toBe(trustDomain);
  });

  it('passes the collector, cores and pilot settings on', () => {
    const options = slotPilotOptions(
      testTemplate({
        collector: '127.0.0.1:9620',
        coresPerSlot: 2,
        pilot: { idleShutdownSeconds: 600, heartbeatSeconds: 7 },
      }),
      'f',
      0,
    );
    expect(options.collector).toEqual({ host: '127.0.0.1', port: 9620 });
    expect(options.cpus).toBe(2);
    expect(options.idleShutdownSeconds).toBe(600);
    expect(options.heartbeatSeconds).toBe(7);
    expect(options.network).toEqual({ mode: 'host', interface: '127.0.0.1' });
  });

  it('refuses, as the pilot does, a remote collector on the host network without an address to advertise', () => {
    expect(() => slotPilotOptions(testTemplate({ collector: 'cm.example.org' }), 'f', 0)).toThrow(PilotError);
  });
});

describe('cpusetOf', () => {
  it.each([
    [0, 1, '0'],
    [3, 1, '3'],
    [0, 2, '0-1'],
    [1, 2, '2-3'],
    [3, 2, '6-7'],
    [2, 4, '8-11'],
  ])('slot %i with %i core(s) per slot: %s', (slot, cores, cpuset) => {
    expect(cpusetOf(slot, cores)).toBe(cpuset);
  });
});

describe('slotContainerOptions', () => {
  const TOKEN = '/etc/docker-cernvm/site-pool.token';

  function body(overrides: Partial<SlotTemplate> = {}, slot = 3) {
    const template = testTemplate({ tokenFile: TOKEN, ...overrides });
    return slotContainerOptions({
      template,
      hash: 'abcdef012345',
      factory: 'site-a',
      slot,
      hostPilotDir: `/var/lib/docker-cernvm/factory/site-a/slot-${slot}`,
      hostScratchDir: `/var/lib/docker-cernvm/scratch/site-a/slot-${slot}`,
      options: slotPilotOptions(template, 'site-a', slot),
    });
  }

  it('labels a slot on a CernVM root with it, which sends it to podman’s own API, and no other slot', () => {
    const root = '/cvmfs/cernvm-prod.cern.ch/cvm4';
    expect(body({ rootfs: root }).Labels).toMatchObject({ [LABELS.rootfs]: root, [LABELS.slot]: '3' });
    expect(body().Labels).not.toHaveProperty([LABELS.rootfs]);
  });

  it('names the container after its slot and runs the template image', () => {
    expect(body()).toMatchObject({ name: 'site-a-slot-3', Image: 'cernvm:4' });
  });

  it('labels it with the factory, slot, template hash and version', () => {
    expect(body().Labels).toEqual({
      [LABELS.factory]: 'site-a',
      [LABELS.slot]: '3',
      [LABELS.templateHash]: 'abcdef012345',
      [LABELS.version]: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
  });

  it.each<[string, Partial<SlotTemplate>, number, string | undefined]>([
    ['pinned, one core', { pin: true }, 3, '3'],
    ['pinned, two cores', { pin: true, coresPerSlot: 2 }, 3, '6-7'],
    ['not pinned', { pin: false }, 3, undefined],
  ])('sets a cpuset only when pinned: %s', (_name, overrides, slot, cpuset) => {
    expect(body(overrides, slot).HostConfig?.CpusetCpus).toBe(cpuset);
  });

  it('limits memory from memoryMb, without extra swap', () => {
    const { HostConfig } = body({ memoryMb: 1024 });
    expect(HostConfig?.Memory).toBe(1024 * 1024 * 1024);
    expect(HostConfig?.MemorySwap).toBe(1024 * 1024 * 1024);
  });

  it('limits the processes from pidsLimit, and not at all with 0', () => {
    expect(body({ pidsLimit: 512 }).HostConfig?.PidsLimit).toBe(512);
    expect(body({ pidsLimit: 0 }).HostConfig).not.toHaveProperty('PidsLimit');
  });

  it('runs hardened: every capability dropped but the starter’s, no new privileges', () => {
    expect(body().HostConfig).toMatchObject({ CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] });
  });

  it('runs under Docker’s init, unprivileged, on the template’s network', () => {
    expect(body().HostConfig).toMatchObject({ Init: true, Privileged: false, NetworkMode: 'host' });
    const bridged = body({ networkMode: 'bridge' }).HostConfig;
    expect(bridged?.NetworkMode).toBe('bridge');
  });

  it('mounts the slot directory, and the token read-only, and never the Docker socket', () => {
    const binds = body().HostConfig?.Binds;
    expect(binds).toEqual([
      '/var/lib/docker-cernvm/factory/site-a/slot-3:/pilot:ro',
      '/var/lib/docker-cernvm/factory/site-a/slot-3/status:/pilot/status',
      `${TOKEN}:/pilot/tokens.d/pool.token:ro`,
      '/var/lib/docker-cernvm/scratch/site-a/slot-3:/scratch',
    ]);
    expect(JSON.stringify(body())).not.toContain('docker.sock');
  });

  it('puts the token path nowhere but that read-only bind (not in Env, Labels or Cmd)', () => {
    const { HostConfig, ...rest } = body({ environment: { SITE: 'T2_XX' } });
    expect(JSON.stringify(rest)).not.toContain(TOKEN);
    expect(JSON.stringify({ ...HostConfig, Binds: undefined })).not.toContain(TOKEN);
    expect(JSON.stringify(rest)).not.toMatch(/token/i);
  });

  it('runs the rendered entrypoint by default, and the image’s own command with slotCommand: image', () => {
    expect(body().Cmd).toEqual(['/pilot/entrypoint.sh']);
    expect(body({ slotCommand: 'image' })).not.toHaveProperty('Cmd');
  });

  it('mounts the slot scratch read-write at /scratch (EXECUTE), then the template’s mounts', () => {
    const host = body({ mounts: [MOUNT] }).HostConfig;
    expect(host?.Mounts).toEqual([
      { Type: 'bind', Source: '/cvmfs', Target: '/cvmfs', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
    ]);
    expect(host?.Binds).toContain('/var/lib/docker-cernvm/scratch/site-a/slot-3:/scratch');
  });

  it('renders the scratch as EXECUTE and the job environment for jobs, not for the container', () => {
    const template = testTemplate({ pilot: { jobEnvironment: { VO_SITE: 'T2' } } });
    const options = slotPilotOptions(template, 'site-a', 0);
    expect(options.executeDir).toBe('/scratch');
    expect(options.jobEnvironment).toEqual({
      VO_SITE: 'T2',
      MACHINEFEATURES: '/etc/machinefeatures',
      JOBFEATURES: '/etc/jobfeatures',
    });
    expect(body({ pilot: { jobEnvironment: { VO_SITE: 'T2' } } })).not.toHaveProperty('Env');
  });

  it('passes the environment as NAME=value, and none when there is none', () => {
    expect(body({ environment: { SITE: 'T2_XX', EMPTY: '' } }).Env).toEqual(['SITE=T2_XX', 'EMPTY=']);
    expect(body()).not.toHaveProperty('Env');
  });
});
