import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// scripts/fleet-roll.sh against stand-in factories: each answers `status --json` from a scripted sequence.
const SCRIPT = fileURLToPath(new URL('../../scripts/fleet-roll.sh', import.meta.url));
// Each case runs the script with bash, jq and a shell per status: seconds on a loaded machine.
jest.setTimeout(60_000);
const NEW = 'cernvm:4.7.2';
const OLD = 'cernvm:4.7.1';

/** A stand-in `docker-cernvm-factory`: the n-th `status --json` prints answer n (the last one from then on). */
const FAKE_FACTORY = `#!/bin/sh
dir=$1; shift
n=$(( $(cat "$dir/calls" 2>/dev/null || echo 0) + 1 )); echo $n > "$dir/calls"
echo "$(date +%s%N) $(basename "$dir") status" >> "$dir/../events"
f="$dir/status.$n.json"; [ -f "$f" ] || f=$(ls "$dir"/status.*.json | sort -t. -k2 -n | tail -1)
cat "$f"
`;

interface Slot {
  id: string;
  draining?: boolean;
}
const status = (image: string, slots: Slot[], summary: Partial<Record<string, number>> = {}) => ({
  host: 'h',
  name: 'docker-cernvm',
  version: '0.1.0',
  draining: false,
  summary: {
    desired: 2,
    running: 2,
    starting: 0,
    draining: 0,
    stopping: 0,
    backoff: 0,
    claimed: 0,
    idle: 2,
    ...summary,
  },
  template: { image, hash: 'abc', coresPerSlot: 1 },
  slots: slots.map((s, i) => ({ slot: i, id: s.id, phase: 'running', draining: s.draining ?? false, stopping: false })),
});
const old = status(OLD, [{ id: 'old1' }, { id: 'old2' }]);
/** Right after a reload: the template is new, the old pilots not yet marked draining (the pass has not run). */
const reloaded = status(NEW, [{ id: 'old1' }, { id: 'old2' }]);
const rolling = status(NEW, [{ id: 'old1', draining: true }, { id: 'new2' }], { draining: 1, running: 1 });
const rolled = status(NEW, [{ id: 'new1' }, { id: 'new2' }]);

let tmp: string;
const root = await mkdtemp(path.join(tmpdir(), 'fleet-roll-test-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;

beforeEach(async () => {
  tmp = path.join(root, String((counter += 1)));
  await mkdir(tmp);
  await writeFile(path.join(tmp, 'fake-factory'), FAKE_FACTORY, { mode: 0o755 });
});

/** A host answering these statuses in turn; its line for the hosts file. */
async function host(name: string, answers: unknown[]): Promise<string> {
  await mkdir(path.join(tmp, name));
  for (const [i, answer] of answers.entries())
    await writeFile(path.join(tmp, name, `status.${i + 1}.json`), JSON.stringify(answer));
  return `${name} ${path.join(tmp, 'fake-factory')} ${path.join(tmp, name)}`;
}

async function roll(
  hostLines: string[],
  extra: string[] = [],
): Promise<{ code: number | null; stderr: string; events: string[] }> {
  const hostsFile = path.join(tmp, 'hosts');
  await writeFile(hostsFile, `# the fleet\n${hostLines.join('\n')}\n`);
  const switchCommand = `echo "$(date +%s%N) $HOST switch $IMAGE" >> ${path.join(tmp, 'events')}`;
  const child = spawn(
    'bash',
    [SCRIPT, '--image', NEW, '--switch', switchCommand, '--interval', '0.05', ...extra, hostsFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const events = (await readFile(path.join(tmp, 'events'), 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((line) => line.split(' ').slice(1).join(' '));
  return { code, stderr, events };
}

describe('scripts/fleet-roll.sh', () => {
  it('switches one host at a time, each only after the one before has rolled, and says so', async () => {
    const hosts = [
      await host('a', [old, reloaded, rolling, rolled]),
      await host('b', [old, rolling, rolled]),
      await host('c', [old, rolled]),
    ];
    const { code, stderr, events } = await roll(hosts);
    expect(code).toBe(0);
    const switches = events.filter((e) => e.includes('switch'));
    expect(switches).toEqual([`a switch ${NEW}`, `b switch ${NEW}`, `c switch ${NEW}`]);
    // Host b is first asked (and switched) only after a's last answer, the rolled one.
    expect(events.indexOf('b status')).toBeGreaterThan(events.lastIndexOf('a status'));
    expect(events.indexOf('c status')).toBeGreaterThan(events.lastIndexOf('b status'));
    expect(stderr).toMatch(/a \(1\/3\): switching to cernvm:4\.7\.2 \(cernvm:4\.7\.1 before, 2 slots\)/);
    expect(stderr).toContain('a: 1/2 new, 1 draining, 0 starting, 0 stopping');
    expect(stderr).toMatch(/a \(1\/3\): on cernvm:4\.7\.2 after \d+ s[\s\S]*b \(2\/3\): switching/);
    expect(stderr).toMatch(/3 hosts on cernvm:4\.7\.2 in \d+ s\n$/);
  });

  it('does not take a host whose old pilots still run for rolled, though its counts look done', async () => {
    const { code, stderr } = await roll([await host('a', [old, reloaded])], ['--timeout', '1']);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'fleet-roll: error: a did not converge to cernvm:4.7.2 within 1 s (last: 0/2 new, 0 draining, 0 starting, 0 stopping)',
    );
  });

  it('stops at a host that does not converge in time and leaves the hosts after it untouched', async () => {
    const { code, stderr, events } = await roll(
      [await host('a', [old, rolling]), await host('b', [old, rolled])],
      ['--timeout', '1'],
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/error: a did not converge to cernvm:4\.7\.2 within 1 s \(last: 1\/2 new, 1 draining/);
    expect(events.filter((e) => e.startsWith('b '))).toEqual([]);
  });

  it('skips a host already on the image, and requires the CernVM version when given', async () => {
    const onNew = { ...rolled, template: { ...rolled.template, cernvmVersion: '4.7.2.0' } };
    const { code, stderr, events } = await roll([await host('a', [onNew])], ['--version', '4.7.2.0']);
    expect(code).toBe(0);
    expect(stderr).toContain('a (1/1): already on cernvm:4.7.2');
    expect(events.filter((e) => e.includes('switch'))).toEqual([]);
  });

  it('fails with exit 1 when a host does not answer or its switch fails, 2 without the options it needs', async () => {
    const silent = `x ${path.join(tmp, 'nowhere')}`;
    const unanswered = await roll([silent]);
    expect(unanswered.code).toBe(1);
    expect(unanswered.stderr).toContain("error: x: no answer from '");
    const hostsFile = path.join(tmp, 'hosts');
    await writeFile(hostsFile, `${await host('a', [old])}\n`);
    const failing = spawn('bash', [SCRIPT, '--image', NEW, '--switch', 'exit 3', hostsFile], { stdio: 'pipe' });
    let stderr = '';
    failing.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    expect(await new Promise((resolve) => failing.on('exit', resolve))).toBe(1);
    expect(stderr).toContain('error: a: the switch command failed (3)');
    const usage = spawn('bash', [SCRIPT, hostsFile], { stdio: 'ignore' });
    expect(await new Promise((resolve) => usage.on('exit', resolve))).toBe(2);
  });
});
