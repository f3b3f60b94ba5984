import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { HEALTH_CHECK, healthCheckScript } from './health-check.js';
import { ENTRYPOINT, ENTRYPOINT_SETTINGS, TOP_LEVEL_CONFIG, entrypointScript, render } from './render.js';
import { parseCondorConfig } from './testing/condor-config-parser.js';
import { testOptions } from './testing/pilot-options.js';

const fileOf = (files: ReturnType<typeof render>, path: string) => files.find((file) => file.path === path);

describe('render', () => {
  it('gives the same files, byte for byte, for the same options', () => {
    const input = {
      attributes: { B: 1, A: 'x' },
      siteSnippets: [{ name: 'site', content: 'X = 1' }],
      idleShutdownSeconds: 60,
    };
    expect(render(testOptions(input))).toEqual(render(testOptions({ ...input })));
  });

  it('writes the top-level config, the config.d snippets, the health check, the entrypoint and its settings, with relative paths', () => {
    const paths = render(testOptions()).map((file) => file.path);
    expect(paths[0]).toBe(TOP_LEVEL_CONFIG);
    expect(paths.slice(-3)).toEqual([HEALTH_CHECK, ENTRYPOINT_SETTINGS, ENTRYPOINT]);
    expect(paths.filter((p) => p.startsWith('config.d/')).length).toBeGreaterThanOrEqual(4);
    for (const p of paths) {
      expect(p).toMatch(/^[A-Za-z0-9_-]+(?:\.[a-z]+)?$|^config\.d\/[A-Za-z0-9._-]+\.conf$|^tokens\.d\/pool\.token$/);
    }
  });

  it('leaves an empty mount point for the token inside the pilot directory (/pilot is read-only in the slot)', () => {
    expect(fileOf(render(testOptions()), 'tokens.d/pool.token')).toEqual({
      path: 'tokens.d/pool.token',
      content: '',
      mode: 0o600,
    });
    const outside = render(testOptions({ tokenFile: '/etc/condor/tokens.d/pool.token' }));
    expect(outside.filter((file) => file.path.includes('token'))).toEqual([]);
    const nested = render(testOptions({ pilotDir: '/srv/slot-3', tokenFile: '/srv/slot-3/tokens.d/pool.token' }));
    expect(fileOf(nested, 'tokens.d/pool.token')?.content).toBe('');
  });

  it("makes the entrypoint and the health check executable (0755), the token's mount point 0600 and everything else 0644", () => {
    const files = render(testOptions());
    const scripts = [ENTRYPOINT, HEALTH_CHECK];
    for (const script of scripts) expect(fileOf(files, script)?.mode).toBe(0o755);
    expect(fileOf(files, 'tokens.d/pool.token')?.mode).toBe(0o600);
    const others = files.filter((f) => !scripts.includes(f.path) && !f.path.startsWith('tokens.d/'));
    for (const file of others) expect(file.mode).toBe(0o644);
  });

  it('ships the health check script beside the module, unchanged', () => {
    const shipped = readFileSync(new URL(`./${HEALTH_CHECK}`, import.meta.url), 'utf8');
    expect(healthCheckScript()).toBe(shipped);
    expect(fileOf(render(testOptions()), HEALTH_CHECK)?.content).toBe(shipped);
  });

  it('ships the entrypoint script beside the module, unchanged', () => {
    const shipped = readFileSync(new URL('./entrypoint.sh', import.meta.url), 'utf8');
    expect(entrypointScript()).toBe(shipped);
    expect(fileOf(render(testOptions()), ENTRYPOINT)?.content).toBe(shipped);
    expect(shipped.startsWith('#!/bin/bash\n')).toBe(true);
  });
});

describe('the top-level condor_config', () => {
  const topLevel = (pilotDir?: string) =>
    fileOf(render(testOptions(pilotDir ? { pilotDir } : {})), TOP_LEVEL_CONFIG)!.content;

  it("includes the distribution's config, then points LOCAL_CONFIG_DIR at this slot's config.d", () => {
    const config = parseCondorConfig(topLevel());
    expect(config.includes).toEqual(['/etc/condor/condor_config']);
    expect(config.get('LOCAL_CONFIG_DIR')).toBe('/pilot/config.d');
    expect(parseCondorConfig(topLevel('/srv/slot-3')).get('LOCAL_CONFIG_DIR')).toBe('/srv/slot-3/config.d');
  });

  it("sets LOCAL_CONFIG_DIR and LOCAL_CONFIG_FILE after the include, so the image's own config.d is not read", () => {
    const lines = topLevel().split('\n');
    const include = lines.findIndex((line) => line.startsWith('include'));
    expect(include).toBeGreaterThanOrEqual(0);
    expect(lines.findIndex((line) => line.startsWith('LOCAL_CONFIG_DIR'))).toBeGreaterThan(include);
    expect(lines.findIndex((line) => line.startsWith('LOCAL_CONFIG_FILE'))).toBeGreaterThan(include);
    expect(parseCondorConfig(topLevel()).get('LOCAL_CONFIG_FILE')).toBe('');
  });
});
