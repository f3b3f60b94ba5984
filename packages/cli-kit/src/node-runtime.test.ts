import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

// scripts/test-node-versions.sh runs these tests on Nodes other than the machine's and names the one it meant in
// DOCKER_CERNVM_EXPECT_NODE: jest forks its workers, and a worker on another Node would show here.
const PACKAGES = ['cli-kit', 'mounter', 'pilot', 'factory'];

function declaredFloor(name: string): string {
  const manifest = JSON.parse(readFileSync(new URL(`../../${name}/package.json`, import.meta.url), 'utf8')) as {
    engines?: { node?: string };
  };
  return manifest.engines?.node ?? '(none)';
}

function atLeast(version: string, floor: string): boolean {
  const wanted = /^>=(\d+)\.(\d+)$/.exec(floor);
  if (!wanted) throw new Error(`engines.node ${floor} is not of the form >=MAJOR.MINOR`);
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [floorMajor, floorMinor] = [Number(wanted[1]), Number(wanted[2])];
  return major > floorMajor || (major === floorMajor && minor >= floorMinor);
}

describe('the Node the tests run on', () => {
  it('is the one the run asked for, and one every package declares it supports', () => {
    const floors = Object.fromEntries(PACKAGES.map((name) => [name, declaredFloor(name)]));
    expect({
      version: process.version,
      supported: Object.fromEntries(PACKAGES.map((name) => [name, atLeast(process.version, floors[name] ?? '')])),
    }).toEqual({
      version: process.env.DOCKER_CERNVM_EXPECT_NODE ?? process.version,
      supported: Object.fromEntries(PACKAGES.map((name) => [name, true])),
    });
  });

  it('compares versions against a floor by major, then minor', () => {
    expect(['v20.18.3', 'v20.19.0', 'v20.20.1', 'v22.1.0', 'v19.99.0'].map((v) => atLeast(v, '>=20.19'))).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
  });
});
