import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FactoryMetrics, checkFactoryConfig, factoryConfigSchema } from '@docker-cernvm/factory';
import { parse } from 'yaml';
import { promtool, promtoolAvailable } from '../support/promtool.js';

// The files operators deploy with must name metrics the factory exports and keys its schema accepts.
const DEPLOY = new URL('../../deploy/', import.meta.url);
const read = (name: string) => readFile(new URL(name, DEPLOY), 'utf8');

/** Every metric name the factory's registry exports, with a histogram's _bucket/_sum/_count series. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new FactoryMetrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

const referenced = (expr: string) => [...expr.matchAll(/\b(cernvm_factory_[a-z_]+)/g)].map((m) => m[1]!);

describe('deploy/', () => {
  it('factory.example.yaml is valid for the factory, key by key', async () => {
    const example = parse(await read('factory.example.yaml')) as Record<string, unknown>;
    const config = checkFactoryConfig(example, new Map());
    expect(config).toMatchObject({ slots: 16, image: 'cernvm:4', listen: '127.0.0.1:9720', onExit: 'leave' });
    expect(config.pilot?.maxLifetimeSeconds).toBe(259200);
    expect(config.mounts).toEqual([{ source: '/cvmfs', target: '/cvmfs', readOnly: true, propagation: 'rslave' }]);
    expect(config.scratchDir).toBe('/var/lib/docker-cernvm/scratch');
    expect(config.pilot?.jobEnvironment).toMatchObject({ VO_SITE_NAME: 'EXAMPLE' });
  });

  it('factory.example.yaml documents every top-level key of the schema', async () => {
    const text = await read('factory.example.yaml');
    for (const key of Object.keys(factoryConfigSchema.shape))
      expect([key, text.includes(`${key}:`)]).toEqual([key, true]);
  });

  it('every alert rule names metrics the factory exports, and covers what operators asked for', async () => {
    const names = await exportedNames();
    const rules = (
      parse(await read('prometheus-alerts.yaml')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'CernvmFactoryBelowDesired',
      'CernvmFactoryCrashLooping',
      'CernvmFactoryEventsStreamDown',
      'CernvmFactoryStaleHeartbeat',
    ]);
    for (const rule of rules) {
      expect(referenced(rule.expr).length).toBeGreaterThan(0);
      for (const name of referenced(rule.expr))
        expect([rule.alert, names.has(name) ? name : `missing ${name}`]).toEqual([rule.alert, name]);
    }
  });

  it('every Grafana panel queries metrics the factory exports', async () => {
    const names = await exportedNames();
    const dashboard = JSON.parse(await read('grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of referenced(target.expr))
          expect([panel.title, names.has(name) ? name : `missing ${name}`]).toEqual([panel.title, name]);
      }
    }
  });

  it('the systemd units start what the README says, and reload with SIGHUP', async () => {
    const factory = await read('docker-cernvm-factory.service');
    expect(factory).toMatch(/^ExecStart=.*docker-cernvm-factory start --config \/etc\/docker-cernvm\/factory\.yaml/m);
    expect(factory).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(factory).toMatch(/^KillMode=process$/m); // the pilots are not the service's processes to kill
    const mount = await read('docker-cernvm-mount.service');
    expect(mount).toMatch(/^ExecStart=.*docker-cernvm mount --tag cernvm:4/m);
    expect(mount).toMatch(/^Before=docker-cernvm-factory\.service$/m);
  });
});

const hasPromtool = await promtoolAvailable('deploy/ with promtool');
const describePromtool = hasPromtool ? describe : describe.skip;
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const DEPLOY_DIR = fileURLToPath(DEPLOY);

describePromtool('deploy/ with promtool', () => {
  it('every rule file parses', async () => {
    const result = await promtool(['check', 'rules', 'prometheus-alerts.yaml'], DEPLOY_DIR);
    expect(result).toMatchObject({ exitCode: 0, output: expect.stringContaining('SUCCESS: 4 rules found') });
  });

  it('the alerts fire and name the host (promtool test rules)', async () => {
    const result = await promtool(['test', 'rules', 'prometheus-alerts.rules-test.yaml'], TEST_DIR);
    expect([result.exitCode, result.output]).toEqual([0, expect.not.stringContaining('FAILED')]);
  });
});
