import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCondorConfig } from '../testing/condor-config-parser.js';
import { FakePilotEngine } from '../testing/fake-pilot-engine.js';
import { FakeSignals, consoleLogOf, versionIn } from '@docker-cernvm/cli-kit/testing';
import type { CliContext } from './context.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '@docker-cernvm/cli-kit';
import { runCli } from './main.js';
import { pilotContainerOptions } from '../container-spec.js';

const POOL = ['--collector', '127.0.0.1', '--trust-domain', 'pool.example.org'];

describe('docker-cernvm-pilot command line', () => {
  let tmp: string;
  let outDir: string;
  let engine: FakePilotEngine;
  let engineAsked: number;
  let out: string;
  let err: string;
  let context: CliContext;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'pilot-cli-'));
    outDir = path.join(tmp, 'out');
    engine = new FakePilotEngine();
    engineAsked = 0;
    out = '';
    err = '';
    context = {
      io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
      engine: () => (engineAsked++, engine),
      signals: new FakeSignals(),
    };
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  async function file(name: string, text: string): Promise<string> {
    await writeFile(path.join(tmp, name), text);
    return path.join(tmp, name);
  }

  /** config.d of the rendered slot, parsed in the order HTCondor reads it. */
  async function renderedConfig(dir = outDir) {
    const names = (await readdir(path.join(dir, 'config.d'))).sort();
    return parseCondorConfig(
      ...(await Promise.all(names.map((name) => readFile(path.join(dir, 'config.d', name), 'utf8')))),
    );
  }

  const render = (...args: string[]) => runCli(['render', '--out', outDir, ...args], context);

  it('prints the package’s version for --version and exits 0, asking no engine', async () => {
    const version = await versionIn(new URL('../../package.json', import.meta.url));
    expect(await consoleLogOf(() => runCli(['--version'], context))).toEqual({ result: EXIT_OK, printed: [version] });
    expect({ out, err, engineAsked }).toEqual({ out: '', err: '', engineAsked: 0 });
  });

  describe('render', () => {
    it('writes the slot files into --out and prints their paths, one a line', async () => {
      await expect(render(...POOL, '--slot-name', 'slot-3')).resolves.toBe(EXIT_OK);
      const printed = out.trim().split('\n');
      expect(printed).toContain(path.join(outDir, 'condor_config'));
      expect(printed).toContain(path.join(outDir, 'entrypoint.sh'));
      expect(printed).toContain(path.join(outDir, 'config.d', '30-slot.conf'));
      for (const written of printed) await expect(stat(written)).resolves.toBeDefined();
      expect((await stat(path.join(outDir, 'entrypoint.sh'))).mode & 0o777).toBe(0o755);
      expect(err).toBe(`rendered ${printed.length} files for slot-3 into ${outDir}\n`);
      expect((await renderedConfig()).get('STARTD_NAME')).toBe('slot-3');
    });

    it('prints the directory and the files as JSON with --json', async () => {
      await expect(render(...POOL, '--slot-name', 's', '--json')).resolves.toBe(EXIT_OK);
      const printed = JSON.parse(out) as { dir: string; files: string[] };
      expect(printed.dir).toBe(outDir);
      expect(printed.files).toContain('config.d/10-pool.conf');
    });

    it('takes the options from a YAML file', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1:9620\ntrustDomain: pool.example.org\nslotName: from-file\ncpus: 2\n',
      );
      await expect(render('--config', config)).resolves.toBe(EXIT_OK);
      const rendered = await renderedConfig();
      expect([rendered.get('COLLECTOR_HOST'), rendered.get('STARTD_NAME'), rendered.get('NUM_CPUS')]).toEqual([
        '127.0.0.1:9620',
        'from-file',
        '2',
      ]);
    });

    it('lets flags override the file', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1\ntrustDomain: pool.example.org\nslotName: from-file\ncpus: 2\n',
      );
      await expect(render('--config', config, '--cpus', '4', '--slot-name', 'from-flag')).resolves.toBe(EXIT_OK);
      const rendered = await renderedConfig();
      expect([rendered.get('NUM_CPUS'), rendered.get('STARTD_NAME'), rendered.get('TRUST_DOMAIN')]).toEqual([
        '4',
        'from-flag',
        'pool.example.org',
      ]);
    });

    it('types --attribute values: whole numbers, true/false, and strings', async () => {
      await expect(
        render(...POOL, '--slot-name', 's', '--attribute', 'A=1', '--attribute', 'B=true', '--attribute', 'C=x'),
      ).resolves.toBe(EXIT_OK);
      const rendered = await renderedConfig();
      expect([rendered.get('A'), rendered.get('B'), rendered.get('C')]).toEqual(['1', 'True', '"x"']);
      expect(rendered.get('STARTD_ATTRS')?.split(/\s+/)).toEqual([
        'CernvmDeadline',
        'CernvmSecondsLeft',
        'A',
        'B',
        'C',
      ]);
    });

    it("adds --attribute to the file's attributes, the flag winning for the same name", async () => {
      const config = await file('pilot.yaml', 'attributes:\n  A: from-file\n  B: kept\n');
      await expect(render(...POOL, '--slot-name', 's', '--config', config, '--attribute', 'A=2')).resolves.toBe(
        EXIT_OK,
      );
      const rendered = await renderedConfig();
      expect([rendered.get('A'), rendered.get('B')]).toEqual(['2', '"kept"']);
    });

    it('appends --site-config files last, after any in the file', async () => {
      const site = await file('local site.conf', 'NUM_CPUS = 8\n');
      await expect(render(...POOL, '--slot-name', 's', '--site-config', site)).resolves.toBe(EXIT_OK);
      expect(await readdir(path.join(outDir, 'config.d'))).toContain('90-site-00-local_site.conf');
      expect((await renderedConfig()).get('NUM_CPUS')).toBe('8');
    });

    it('takes memory as a number or auto', async () => {
      await expect(render(...POOL, '--slot-name', 's', '--memory-mb', '2048')).resolves.toBe(EXIT_OK);
      expect((await renderedConfig()).get('MEMORY')).toBe('2048');
      await expect(render(...POOL, '--slot-name', 's', '--memory-mb', 'auto')).resolves.toBe(EXIT_OK);
      expect((await renderedConfig()).has('MEMORY')).toBe(false);
    });
  });

  describe('refuses bad input with one line on stderr, exit 2, and writes nothing', () => {
    it.each<[string, string[], RegExp?]>([
      ['an unknown flag', [...POOL, '--slot-name', 's', '--bogus', '1'], /bogus/],
      ['a flag without its value', [...POOL, '--slot-name'], /slot-name/],
      [
        '--cpus abc',
        [...POOL, '--slot-name', 's', '--cpus', 'abc'],
        /^error: --cpus: expected a whole number, got "abc"\n$/,
      ],
      [
        '--cpus 0',
        [...POOL, '--slot-name', 's', '--cpus', '0'],
        /^error: cpus: expected a whole number of cores ≥ 1\n$/,
      ],
      ['--cpus -1', [...POOL, '--slot-name', 's', '--cpus', '-1'], /cpus/],
      [
        'a URL as collector',
        ['--collector', 'http://cm.example.org', '--trust-domain', 'p.org', '--slot-name', 's'],
        /^error: collector: /,
      ],
      [
        'a collector with a bad port',
        ['--collector', '127.0.0.1:70000', '--trust-domain', 'p.org', '--slot-name', 's'],
        /collector/,
      ],
      ['a slot name with a slash', [...POOL, '--slot-name', '../x'], /^error: slotName: /],
      [
        '--attribute without =',
        [...POOL, '--slot-name', 's', '--attribute', 'A'],
        /^error: --attribute: expected NAME=VALUE/,
      ],
      ['a reserved attribute', [...POOL, '--slot-name', 's', '--attribute', 'NUM_CPUS=64'], /attributes\.NUM_CPUS/],
      [
        'a missing required option',
        ['--collector', '127.0.0.1', '--slot-name', 's'],
        /^error: trustDomain: missing \(required\)\n$/,
      ],
      [
        '--network-interface in bridge mode',
        [...POOL, '--slot-name', 's', '--network', 'bridge', '--network-interface', '192.0.2.1'],
        /networkInterface/,
      ],
      [
        'a missing --site-config file',
        [...POOL, '--slot-name', 's', '--site-config', '/nonexistent/site.conf'],
        /--site-config: cannot read/,
      ],
      // Found by main.property.test.ts: a negated or dotted string option reached a check as a boolean or an object.
      [
        'a negated string option',
        [...POOL, '--slot-name', 's', '--no-collector'],
        /^error: --collector: expected one value, such as --collector VALUE\n$/,
      ],
      ['a dotted string option', [...POOL, '--slot-name.x', 's'], /^error: --slot-name: expected one value/],
      [
        'a negated repeatable option',
        [...POOL, '--slot-name', 's', '--no-attribute'],
        /^error: --attribute: expected a value/,
      ],
      [
        '--cpus with a newline',
        [...POOL, '--slot-name', 's', '--cpus', '1\n2'],
        /^error: --cpus: expected a whole number, got "1\\u000a2"\n$/,
      ],
    ])('%s', async (_, args, message) => {
      await expect(render(...args)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: [^\n]+\n$/);
      if (message) expect(err).toMatch(message);
      expect(out).toBe('');
      await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
    });

    it('takes the last of a flag given twice', async () => {
      await expect(
        render(...POOL, '--slot-name', 'first', '--slot-name', 'last', '--out', path.join(tmp, 'elsewhere')),
      ).resolves.toBe(EXIT_OK);
      expect(err).toMatch(new RegExp(`^rendered \\d+ files for last into ${path.join(tmp, 'elsewhere')}\n$`));
    });

    it('a config file with an unknown key, naming the file and the key', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1\ntrustDomain: pool.example.org\nslotName: s\ncolector: x\n',
      );
      await expect(render('--config', config)).resolves.toBe(EXIT_USAGE);
      expect(err).toBe(`error: ${config}: unknown key "colector"\n`);
      await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
    });

    it('a config file that is not YAML, naming the file', async () => {
      const config = await file('pilot.yaml', 'collector: [127.0.0.1\ntrustDomain: x\n');
      await expect(render('--config', config)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(new RegExp(`^error: ${config}: not valid YAML: [^\n]+\n$`));
      await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
    });

    it('a config file with a value of the wrong type, naming the file and the key', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1\ntrustDomain: pool.example.org\nslotName: s\ncpus: two\n',
      );
      await expect(render('--config', config)).resolves.toBe(EXIT_USAGE);
      expect(err).toBe(`error: ${config}: cpus: expected a whole number of cores\n`);
      await expect(stat(outDir)).rejects.toThrow(/ENOENT/);
    });

    it('a bad attribute in the config file, naming the file even when flags add attributes too', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1\ntrustDomain: pool.example.org\nslotName: s\nattributes:\n  My_Attr1: ""\n',
      );
      await expect(render('--config', config, '--attribute', 'Other=1')).resolves.toBe(EXIT_USAGE);
      expect(err).toBe(`error: ${config}: attributes.My_Attr1: expected not empty\n`);
    });

    it('a bad --attribute, not blaming the config file that has good ones', async () => {
      const config = await file(
        'pilot.yaml',
        'collector: 127.0.0.1\ntrustDomain: pool.example.org\nslotName: s\nattributes:\n  Good: 1\n',
      );
      await expect(render('--config', config, '--attribute', 'Start=x')).resolves.toBe(EXIT_USAGE);
      expect(err).toBe('error: attributes.Start: expected a name HTCondor does not set itself\n');
    });

    it('a config file that does not exist, naming it', async () => {
      await expect(render('--config', path.join(tmp, 'missing.yaml'))).resolves.toBe(EXIT_USAGE);
      expect(err).toBe(`error: ${path.join(tmp, 'missing.yaml')}: cannot read it (ENOENT)\n`);
    });

    it('no command at all, or an unknown one', async () => {
      await expect(runCli([], context)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: [^\n]+\n$/);
      err = '';
      await expect(runCli(['frobnicate'], context)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: [^\n]+\n$/);
    });

    it('render without --out', async () => {
      await expect(runCli(['render', ...POOL, '--slot-name', 's'], context)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: [^\n]*out[^\n]*\n$/);
    });
  });

  describe('run', () => {
    let token: string;
    let workDir: string;
    beforeEach(async () => {
      token = await file('pool.token', 'eyJhbGciOiJIUzI1NiJ9.x.y\n');
      await chmod(token, 0o600);
      workDir = path.join(tmp, 'work');
    });

    const run = (...args: string[]) =>
      runCli(
        [
          'run',
          '--image',
          'cernvm:4',
          '--token-file',
          token,
          '--work-dir',
          workDir,
          '--scratch-dir',
          path.join(tmp, 'scratch'),
          ...POOL,
          ...args,
        ],
        context,
      );

    it('mounts the slot scratch <scratch-dir>/<slot> at /scratch as EXECUTE', async () => {
      await expect(run('--slot-name', 's1')).resolves.toBe(EXIT_OK);
      expect(engine.created[0]).toMatchObject({
        hostScratchDir: path.join(tmp, 'scratch', 's1'),
        options: { executeDir: '/scratch' },
      });
      expect((await renderedConfig(workDir)).get('EXECUTE')).toBe('/scratch');
    });

    it('binds --mount sources (read-only, rslave unless told) after the file’s, and renders --job-env for jobs', async () => {
      const site = path.join(tmp, 'site');
      const data = path.join(tmp, 'data');
      await mkdir(site);
      await mkdir(data);
      const config = await file(
        'pilot.yaml',
        `mounts:\n  - source: ${data}\n    target: /from-file\n    propagation: rprivate\njobEnvironment:\n  A: from-file\n`,
      );
      await expect(
        run('--config', config, '--mount', `${site}:/site:rw,rprivate`, '--job-env', 'B=two words'),
      ).resolves.toBe(EXIT_OK);
      expect(engine.created[0]?.options.mounts).toEqual([
        { source: data, target: '/from-file', readOnly: true, propagation: 'rprivate' },
        { source: site, target: '/site', readOnly: false, propagation: 'rprivate' },
      ]);
      expect((await renderedConfig(workDir)).get('STARTER_JOB_ENVIRONMENT')).toBe(`"A='from-file' B='two words'"`);
    });

    it.each<[string, string[], RegExp]>([
      [
        'a mount showing the token to jobs',
        ['--mount', '/tmp:/hosttmp:ro,rprivate'],
        /^error: mounts\.0\.source \/tmp: would show .*pool\.token to every job/,
      ],
      [
        'a missing mount source',
        ['--mount', '/nonexistent/docker-cernvm-test:/data:ro,rprivate'],
        /^error: mounts\.0\.source \/nonexistent\/docker-cernvm-test: does not exist on this host/,
      ],
      ['a bad --mount', ['--mount', '/a:/b:bogus'], /^error: --mount: expected SOURCE\[:TARGET\]/],
      [
        'a mount on the scratch directory',
        ['--mount', '/tmp:/scratch'],
        /^error: mounts\.0\.target: expected a path apart from the slot's own \/scratch/,
      ],
      [
        'a secret-looking job variable',
        ['--job-env', 'MY_TOKEN=x'],
        /^error: jobEnvironment\.MY_TOKEN: expected a non-secret name/,
      ],
    ])('refuses %s with exit 2, creating nothing', async (_name, args, message) => {
      await expect(run(...args)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(message);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(engine.created).toEqual([]);
    });

    it("returns the pilot container's exit code", async () => {
      engine.exitCode = 99;
      await expect(run()).resolves.toBe(99);
      engine.exitCode = 3;
      await expect(run()).resolves.toBe(3);
      engine.exitCode = 0;
      await expect(run()).resolves.toBe(EXIT_OK);
    });

    it('names the slot "pilot" and the container after it by default', async () => {
      await expect(run()).resolves.toBe(EXIT_OK);
      expect(engine.created[0]?.name).toBe('docker-cernvm-pilot-pilot');
      expect((await renderedConfig(workDir)).get('STARTD_NAME')).toBe('pilot');
    });

    it('takes the slot name from the config file when no flag gives one', async () => {
      const config = await file('pilot.yaml', 'slotName: from-file\n');
      await expect(run('--config', config)).resolves.toBe(EXIT_OK);
      expect(engine.created[0]?.name).toBe('docker-cernvm-pilot-from-file');
      expect((await renderedConfig(workDir)).get('STARTD_NAME')).toBe('from-file');
    });

    it('makes --memory-mb the container limit, which the entrypoint reads back (MEMORY left to it)', async () => {
      await expect(run('--memory-mb', '2048', '--cpuset', '2', '--name', 'p2', '--keep')).resolves.toBe(EXIT_OK);
      expect(engine.created[0]).toMatchObject({
        name: 'p2',
        memoryMb: 2048,
        cpuset: '2',
        pidsLimit: 4096,
        hostPilotDir: workDir,
        hostTokenFile: token,
      });
      const rendered = await renderedConfig(workDir);
      expect(rendered.has('MEMORY')).toBe(false);
      expect(await readFile(path.join(workDir, 'pilot.env'), 'utf8')).toMatch(/^MEMORY_MB=auto$/m);
      expect(engine.calls.filter((call) => call.startsWith('remove'))).toEqual([]);
    });

    it('limits the processes to --pids-limit, and not at all with 0', async () => {
      await expect(run('--pids-limit', '512', '--name', 'p3')).resolves.toBe(EXIT_OK);
      expect(engine.created[0]?.pidsLimit).toBe(512);
      await expect(run('--pids-limit', '0', '--name', 'p4')).resolves.toBe(EXIT_OK);
      expect(pilotContainerOptions(engine.created[1]!).HostConfig).not.toHaveProperty('PidsLimit');
    });

    it('refuses a world-readable token with exit 2 and never creates a container', async () => {
      await chmod(token, 0o644);
      await expect(run()).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: the pool token [^\n]* has mode 644: [^\n]*chmod 600[^\n]*\n$/);
      expect(engine.created).toEqual([]);
      expect(engine.calls.filter((call) => call.startsWith('create'))).toEqual([]);
    });

    it('refuses a missing image with exit 1', async () => {
      engine.images.clear();
      await expect(run()).resolves.toBe(EXIT_FAILURE);
      expect(err).toMatch(/^error: no image cernvm:4: [^\n]+\n$/);
      expect(engine.created).toEqual([]);
    });

    it.each([
      ['--cpuset', 'abc'],
      ['--name', '../x'],
      ['--no-work-dir', '--keep'], // found by main.property.test.ts: a TypeError, exit 1
      ['--cpuset.x', '1'],
      ['--pids-limit', '-1'],
      ['--pids-limit', '99999999'],
    ])('refuses %s %s with exit 2 before asking the engine', async (flag, value) => {
      await expect(run(flag, value)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/^error: [^\n]+\n$/);
      expect(engineAsked).toBe(0);
    });

    it('refuses a run without --token-file', async () => {
      await expect(runCli(['run', '--image', 'cernvm:4', ...POOL], context)).resolves.toBe(EXIT_USAGE);
      expect(err).toMatch(/token-file/);
      expect(engineAsked).toBe(0);
    });
  });
});
