import { describe, expect, it } from '@jest/globals';
import { type PilotContainerSpec, pilotContainerOptions } from './container-spec.js';
import { testOptions } from './testing/pilot-options.js';

const HOST_TOKEN = '/etc/docker-cernvm/secret-pool.token';
const TOKEN_CONTENT = 'eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ.secret-claims.secret-signature';

function spec(changes: Partial<PilotContainerSpec> = {}): PilotContainerSpec {
  return {
    name: 'docker-cernvm-pilot-slot-0',
    image: 'cernvm:4',
    hostPilotDir: '/var/lib/docker-cernvm/pilot/slot-0',
    hostTokenFile: HOST_TOKEN,
    options: testOptions({ slotName: 'slot-0' }),
    labels: { 'org.docker-cernvm.pilot': 'slot-0' },
    ...changes,
  };
}

describe('pilotContainerOptions', () => {
  it('runs the entrypoint from the mounted pilot directory under an init', () => {
    const body = pilotContainerOptions(spec());
    expect(body.Cmd).toEqual(['/pilot/entrypoint.sh']);
    expect(body.HostConfig?.Init).toBe(true);
    expect(body.StopSignal).toBe('SIGTERM');
    expect(pilotContainerOptions(spec({ options: testOptions({ pilotDir: '/srv/pilot' }) })).Cmd).toEqual([
      '/srv/pilot/entrypoint.sh',
    ]);
  });

  it('uses the host network in host mode and the bridge in bridge mode', () => {
    expect(pilotContainerOptions(spec()).HostConfig?.NetworkMode).toBe('host');
    expect(
      pilotContainerOptions(spec({ options: testOptions({ networkMode: 'bridge' }) })).HostConfig?.NetworkMode,
    ).toBe('bridge');
  });

  it('is never privileged and never gets the Docker socket, devices or the host PID namespace', () => {
    const body = pilotContainerOptions(spec());
    expect(body.HostConfig?.Privileged).toBe(false);
    expect(JSON.stringify(body)).not.toContain('docker.sock');
    expect(body.HostConfig?.Devices).toBeUndefined();
    expect(body.HostConfig?.PidMode).toBeUndefined();
  });

  it("drops every capability but the starter's few, and lets no process gain privileges by exec", () => {
    const host = pilotContainerOptions(spec()).HostConfig;
    expect(host?.CapDrop).toEqual(['ALL']);
    expect(host?.CapAdd).toEqual(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID']);
    expect(host?.CapAdd).not.toContain('SYS_ADMIN');
    // Only no-new-privileges: a seccomp= or apparmor= entry would replace the engine's default profile.
    expect(host?.SecurityOpt).toEqual(['no-new-privileges']);
  });

  it('limits the processes when a limit is given, and not otherwise', () => {
    expect(pilotContainerOptions(spec({ pidsLimit: 4096 })).HostConfig?.PidsLimit).toBe(4096);
    expect(pilotContainerOptions(spec()).HostConfig).not.toHaveProperty('PidsLimit');
  });

  it('mounts the pilot directory read-only but its status directory, and the token read-only, nothing else', () => {
    expect(pilotContainerOptions(spec()).HostConfig?.Binds).toEqual([
      '/var/lib/docker-cernvm/pilot/slot-0:/pilot:ro',
      '/var/lib/docker-cernvm/pilot/slot-0/status:/pilot/status',
      `${HOST_TOKEN}:/pilot/tokens.d/pool.token:ro`,
    ]);
  });

  it('mounts a token directory read-only as the token file’s directory when given one, so a replaced copy shows', () => {
    expect(pilotContainerOptions(spec({ hostTokenDir: '/var/lib/f/tokens.d' })).HostConfig?.Binds).toEqual([
      '/var/lib/docker-cernvm/pilot/slot-0:/pilot:ro',
      '/var/lib/docker-cernvm/pilot/slot-0/status:/pilot/status',
      '/var/lib/f/tokens.d:/pilot/tokens.d:ro',
    ]);
  });

  it("never puts the token's path or content in Env, Labels or Cmd (docker inspect shows those)", () => {
    const body = pilotContainerOptions(spec());
    const shown = JSON.stringify([body.Env ?? null, body.Labels ?? null, body.Cmd ?? null, body.Entrypoint ?? null]);
    for (const secret of [HOST_TOKEN, 'secret-pool.token', '/pilot/tokens.d/pool.token', TOKEN_CONTENT]) {
      expect(shown).not.toContain(secret);
    }
    const tokenBinds = (body.HostConfig?.Binds ?? []).filter((bind) => bind.includes(HOST_TOKEN));
    expect(tokenBinds).toEqual([`${HOST_TOKEN}:/pilot/tokens.d/pool.token:ro`]);
  });

  it('limits memory without swap when a size is given, and not otherwise', () => {
    const limited = pilotContainerOptions(spec({ memoryMb: 2048 })).HostConfig;
    expect([limited?.Memory, limited?.MemorySwap]).toEqual([2_147_483_648, 2_147_483_648]);
    const unlimited = pilotContainerOptions(spec()).HostConfig;
    expect([unlimited?.Memory, unlimited?.MemorySwap]).toEqual([undefined, undefined]);
  });

  it('pins to the cores given, and not otherwise', () => {
    expect(pilotContainerOptions(spec({ cpuset: '0-1' })).HostConfig?.CpusetCpus).toBe('0-1');
    expect(pilotContainerOptions(spec()).HostConfig?.CpusetCpus).toBeUndefined();
  });

  it('copies the labels it is given, and only those', () => {
    const labels = { 'org.docker-cernvm.pilot': 'slot-0' };
    const body = pilotContainerOptions(spec({ labels }));
    expect(body.Labels).toEqual(labels);
    expect(body.Labels).not.toBe(labels);
  });
});

describe('pilotContainerOptions: mounts and scratch', () => {
  it('binds each mount with its read-only flag and propagation, as Mounts (a missing source is an error, not made)', () => {
    const options = testOptions({
      mounts: [
        { source: '/cvmfs' },
        { source: '/data/site', target: '/site', readOnly: false, propagation: 'rprivate' },
      ],
    });
    expect(pilotContainerOptions(spec({ options })).HostConfig?.Mounts).toEqual([
      { Type: 'bind', Source: '/cvmfs', Target: '/cvmfs', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
      {
        Type: 'bind',
        Source: '/data/site',
        Target: '/site',
        ReadOnly: false,
        BindOptions: { Propagation: 'rprivate' },
      },
    ]);
  });

  it('binds the scratch directory read-write at the execute directory, as a Bind like /pilot', () => {
    const body = pilotContainerOptions(
      spec({ hostScratchDir: '/var/lib/scratch/slot-0', options: testOptions({ executeDir: '/scratch' }) }),
    );
    expect(body.HostConfig?.Binds).toContain('/var/lib/scratch/slot-0:/scratch');
    // A Mount with a propagation would be refused by Docker under a path that starts like its root (/var/lib/docker…).
    expect(body.HostConfig?.Mounts).toBeUndefined();
  });

  it('has no Mounts without mounts or scratch, and refuses a scratch directory without its target', () => {
    expect(pilotContainerOptions(spec()).HostConfig).not.toHaveProperty('Mounts');
    expect(() => pilotContainerOptions(spec({ hostScratchDir: '/var/lib/scratch/slot-0' }))).toThrow(/executeDir/);
    expect(() => pilotContainerOptions(spec({ options: testOptions({ executeDir: '/scratch' }) }))).toThrow(
      /executeDir/,
    );
  });
});
