import { describe, expect, it } from '@jest/globals';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FactoryMetrics, checkFactoryConfig, factoryConfigSchema } from '@docker-cernvm/factory';
import { parse, stringify } from 'yaml';
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

/** The factory's series an expression names, recording rules (`fleet:cernvm_factory_slots:sum`) whole. */
const referenced = (expr: string) =>
  [...expr.matchAll(/(?<![\w:])([a-z_:]*cernvm_factory_[a-z_:]*)/g)].map((m) => m[1]!);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rulesIn = async (name: string) =>
  (parse(await read(name)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

interface Panel {
  id: number;
  title: string;
  type: string;
  targets: { expr: string }[];
}
const dashboard = async () =>
  JSON.parse(await read('grafana-dashboard.json')) as {
    templating: { list: { name: string; query?: string; allValue?: string }[] };
    panels: Panel[];
  };

/** The exported metrics and the fleet rules' recorded series: what an alert or a panel may name. */
async function knownNames(): Promise<Set<string>> {
  const names = await exportedNames();
  for (const rule of await rulesIn('prometheus-fleet-rules.yaml')) if (rule.record) names.add(rule.record);
  return names;
}

/** The scrape job of prometheus-fleet.yaml: `up{job=...}` in the rules and the dashboard must name it. */
const JOB = 'docker-cernvm-factory';
const upJobs = (expr: string) => [...expr.matchAll(/\bup\{job="([^"]*)"\}/g)].map((m) => m[1]);

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
      'CernvmFactorySlotsUnhealthy',
      'CernvmFactoryStaleHeartbeat',
    ]);
    for (const rule of rules) {
      expect(referenced(rule.expr).length).toBeGreaterThan(0);
      for (const name of referenced(rule.expr))
        expect([rule.alert, names.has(name) ? name : `missing ${name}`]).toEqual([rule.alert, name]);
    }
  });

  it('every Grafana panel queries metrics the factory exports or the fleet rules record', async () => {
    const names = await knownNames();
    const { panels } = await dashboard();
    expect(panels.filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(10);
    for (const panel of panels) {
      for (const target of panel.targets) {
        expect([panel.title, referenced(target.expr).length + upJobs(target.expr).length > 0]).toEqual([
          panel.title,
          true,
        ]);
        for (const name of referenced(target.expr))
          expect([panel.title, names.has(name) ? name : `missing ${name}`]).toEqual([panel.title, name]);
        for (const job of upJobs(target.expr)) expect(job).toBe(JOB);
      }
    }
  });

  it('the fleet rules record the totals and alert naming the host, from exported metrics only', async () => {
    const exported = await exportedNames();
    const rules = await rulesIn('prometheus-fleet-rules.yaml');
    expect(rules.flatMap((r) => (r.record ? [r.record] : [])).sort()).toEqual([
      'fleet:cernvm_factory_claimed_slots:sum',
      'fleet:cernvm_factory_desired_slots:sum',
      'fleet:cernvm_factory_draining_hosts:count',
      'fleet:cernvm_factory_hosts:count',
      'fleet:cernvm_factory_hosts_below_desired:count',
      'fleet:cernvm_factory_hosts_down:count',
      'fleet:cernvm_factory_idle_slots:sum',
      'fleet:cernvm_factory_slots:sum',
      'host:cernvm_factory_desired_slots:sum',
      'host:cernvm_factory_missing_slots:sum',
      'host:cernvm_factory_slots:sum',
    ]);
    expect(rules.flatMap((r) => (r.alert ? [r.alert] : [])).sort()).toEqual([
      'CernvmFactoryDown',
      'CernvmFleetHostBelowDesired',
      'CernvmFleetManyHostsBelowDesired',
    ]);
    // A recording rule names only exported metrics and the rules recorded before it.
    const defined = new Set(exported);
    for (const rule of rules) {
      const label = rule.record ?? rule.alert ?? '';
      expect([label, referenced(rule.expr).length + upJobs(rule.expr).length > 0]).toEqual([label, true]);
      for (const name of referenced(rule.expr))
        expect([label, defined.has(name) ? name : `missing ${name}`]).toEqual([label, name]);
      for (const job of upJobs(rule.expr)) expect(job).toBe(JOB);
      if (rule.record) defined.add(rule.record);
      if (rule.alert)
        expect([rule.alert, /\$labels\.host|\.Labels\.host/.test(JSON.stringify(rule.annotations))]).toEqual([
          rule.alert,
          true,
        ]);
    }
  });

  it('the fleet scrape config discovers targets from files, each target with its own host label', async () => {
    const config = parse(await read('prometheus-fleet.yaml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; file_sd_configs: { files: string[] }[] }[];
    };
    expect(config.rule_files.sort()).toEqual(['prometheus-alerts.yaml', 'prometheus-fleet-rules.yaml']);
    expect(config.scrape_configs.map((c) => c.job_name)).toEqual([JOB]);
    expect(config.scrape_configs[0]!.file_sd_configs[0]!.files).toEqual(['docker-cernvm-targets/*.json']);
    const groups = JSON.parse(await read('prometheus-fleet-targets.example.json')) as {
      targets: string[];
      labels: Record<string, string>;
    }[];
    // A label applies to every target of its group: one host, one group.
    for (const group of groups) expect([group.targets.length, typeof group.labels.host]).toEqual([1, 'string']);
    expect(new Set(groups.map((g) => g.labels.host)).size).toBe(groups.length);
  });

  it('the dashboard filters every per-host panel by its host variable', async () => {
    const { templating, panels } = await dashboard();
    const host = templating.list.find((v) => v.name === 'host');
    expect(host).toMatchObject({ query: 'label_values(cernvm_factory_desired_slots, host)', allValue: '.*' });
    const perHost = panels.filter((p) => p.type !== 'row' && !p.title.startsWith('Fleet'));
    expect(perHost.length).toBeGreaterThanOrEqual(7);
    for (const panel of perHost)
      for (const target of panel.targets) {
        const selectors = [...target.expr.matchAll(/cernvm_factory_[a-z_]+(\{[^}]*\})?/g)];
        for (const [selector, labels] of selectors)
          expect([panel.title, selector, labels?.includes('host=~"$host"') ?? false]).toEqual([
            panel.title,
            selector,
            true,
          ]);
      }
    expect(panels.filter((p) => p.title.startsWith('Fleet')).length).toBeGreaterThanOrEqual(4);
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
    const result = await promtool(
      ['check', 'rules', 'prometheus-alerts.yaml', 'prometheus-fleet-rules.yaml'],
      DEPLOY_DIR,
    );
    expect(result).toMatchObject({ exitCode: 0, output: expect.stringContaining('SUCCESS: 14 rules found') });
  });

  it('the fleet scrape config parses, with the example targets file as its discovered file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-promtool-'));
    try {
      for (const name of ['prometheus-fleet.yaml', 'prometheus-alerts.yaml', 'prometheus-fleet-rules.yaml'])
        await copyFile(new URL(name, DEPLOY), path.join(dir, name));
      await mkdir(path.join(dir, 'docker-cernvm-targets'));
      await copyFile(
        new URL('prometheus-fleet-targets.example.json', DEPLOY),
        path.join(dir, 'docker-cernvm-targets', 'r12.json'),
      );
      const result = await promtool(['check', 'config', 'prometheus-fleet.yaml'], dir);
      expect(result.exitCode).toBe(0);
      expect(result.output).not.toMatch(/WARNING|FAILED/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the alerts fire, name the host, and the fleet totals add up (promtool test rules)', async () => {
    const result = await promtool(
      ['test', 'rules', 'prometheus-alerts.rules-test.yaml', 'prometheus-fleet.rules-test.yaml'],
      TEST_DIR,
    );
    expect([result.exitCode, result.output]).toEqual([0, expect.not.stringContaining('FAILED')]);
  });

  it('every dashboard expression parses, with the host variable set to all', async () => {
    const { panels } = await dashboard();
    const rules = panels.flatMap((p) =>
      p.targets.map((t, i) => ({ record: `dashboard:panel_${p.id}_${i}`, expr: t.expr.replaceAll('$host', '.*') })),
    );
    expect(rules.length).toBeGreaterThanOrEqual(20);
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-promtool-'));
    try {
      await writeFile(path.join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = await promtool(['check', 'rules', 'dashboard.yaml'], dir);
      expect([result.exitCode, result.output]).toEqual([0, expect.stringContaining(`SUCCESS: ${rules.length} rules`)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
