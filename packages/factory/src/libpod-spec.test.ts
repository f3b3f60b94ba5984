import { describe, expect, it } from '@jest/globals';
import type { ContainerCreateOptions } from 'dockerode';
import { libpodSpecOf } from './libpod-spec.js';
import { slotContainerOptions, slotPilotOptions } from './template.js';
import type { SlotTemplate } from './template.js';
import { testTemplate } from './testing/builders.js';

const ROOT = '/cvmfs/cernvm-prod.cern.ch/cvm4';

/** The body the factory makes for slot 1 of a pinned template with a repository mount and an environment. */
function slotBody(overrides: Partial<SlotTemplate> = {}): ContainerCreateOptions {
  const template = testTemplate({
    pin: true,
    memoryMb: 512,
    pidsLimit: 256,
    environment: { SITE: 'T2_XX', 'WITH=EQUALS': 'a=b' },
    mounts: [{ source: '/cvmfs', target: '/cvmfs', readOnly: true, propagation: 'rslave' }],
    ...overrides,
  });
  return slotContainerOptions({
    template,
    hash: 'abcdef012345',
    factory: 'site-a',
    slot: 1,
    hostPilotDir: '/var/lib/docker-cernvm/factory/site-a/slot-1',
    hostScratchDir: '/var/lib/docker-cernvm/scratch/site-a/slot-1',
    hostTokenDir: '/var/lib/docker-cernvm/factory/site-a/tokens.d',
    options: slotPilotOptions(template, 'site-a', 1),
  });
}

describe('libpodSpecOf: a slot body as podman SpecGenerator on a CernVM root', () => {
  it('runs the root under an overlay of its own, with no image', () => {
    const spec = libpodSpecOf(slotBody(), ROOT);
    expect(spec).toMatchObject({ rootfs: ROOT, rootfs_overlay: true, name: 'site-a-slot-1' });
    expect(spec).not.toHaveProperty('image');
  });

  it('keeps the command, labels, environment, init, stop signal and host network', () => {
    const body = slotBody();
    const spec = libpodSpecOf(body, ROOT);
    expect(spec.command).toEqual(body.Cmd);
    expect(spec.labels).toEqual(body.Labels);
    // A value holding '=' is split at the first one only.
    expect(spec.env).toEqual({ SITE: 'T2_XX', WITH: 'EQUALS=a=b' });
    expect(spec).toMatchObject({ init: true, stop_signal: 15, netns: { nsmode: 'host' } });
  });

  it('keeps the hardening: capabilities, no new privileges, never privileged', () => {
    const spec = libpodSpecOf(slotBody(), ROOT);
    expect(spec).toMatchObject({
      privileged: false,
      cap_drop: ['ALL'],
      cap_add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID'],
      no_new_privileges: true,
    });
  });

  it('keeps the limits: memory without swap beyond it, processes, the cpuset', () => {
    expect(libpodSpecOf(slotBody(), ROOT).resource_limits).toEqual({
      memory: { limit: 512 * 1024 * 1024, swap: 512 * 1024 * 1024 },
      pids: { limit: 256 },
      cpu: { cpus: '1' },
    });
    expect(libpodSpecOf(slotBody({ pin: false }), ROOT).resource_limits).not.toHaveProperty('cpu');
  });

  it('binds /pilot read-only, its status read-write, the token read-only, and the repository rslave', () => {
    const mounts = libpodSpecOf(slotBody(), ROOT).mounts;
    const at = (destination: string) => mounts.find((m) => m.destination === destination);
    expect(at('/pilot')).toEqual({
      type: 'bind',
      source: '/var/lib/docker-cernvm/factory/site-a/slot-1',
      destination: '/pilot',
      options: ['rbind', 'ro'],
    });
    expect(at('/pilot/status')?.options).toEqual(['rbind']);
    expect(at('/pilot/tokens.d')?.options).toEqual(['rbind', 'ro']);
    expect(at('/scratch')?.options).toEqual(['rbind']);
    expect(at('/cvmfs')).toEqual({
      type: 'bind',
      source: '/cvmfs',
      destination: '/cvmfs',
      options: ['rbind', 'ro', 'rslave'],
    });
  });

  it('passes explicit rlimits as r_limits', () => {
    const body = slotBody();
    body.HostConfig = { ...body.HostConfig, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 4096 }] };
    expect(libpodSpecOf(body, ROOT).r_limits).toEqual([{ type: 'nofile', soft: 1024, hard: 4096 }]);
  });

  it.each<[string, (body: ContainerCreateOptions) => void]>([
    ['an option the translation does not know', (b) => (b.WorkingDir = '/tmp')],
    ['a host option it does not know', (b) => (b.HostConfig = { ...b.HostConfig, ShmSize: 1 })],
    ['another security option', (b) => (b.HostConfig = { ...b.HostConfig, SecurityOpt: ['seccomp=unconfined'] })],
    [
      'a mount that is not a bind',
      (b) => (b.HostConfig = { ...b.HostConfig, Mounts: [{ Type: 'tmpfs', Target: '/t', Source: '' }] }),
    ],
    ['a bind with modes it does not know', (b) => (b.HostConfig = { ...b.HostConfig, Binds: ['/a:/b:z'] })],
  ])('refuses %s rather than drop it', (_, change) => {
    const body = slotBody();
    change(body);
    expect(() => libpodSpecOf(body, ROOT)).toThrow(expect.objectContaining({ code: 'E_ENGINE' }));
  });
});
