#!/usr/bin/env -S node --max-semi-space-size=1
// A 1 MB young generation: the daemon allocates little per pass, and V8's default sizing held its RSS near 117 MB
// at 64 slots against 86 MB with this (bench/steady.mjs); CPU stayed the same.
import { createMounter } from '@docker-cernvm/mounter';
import { SystemMountHost } from '@docker-cernvm/pilot';
import { systemClock } from '../clock.js';
import { DockerodeRuntime } from '../docker-runtime.js';
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTerminal: process.stderr.isTTY === true,
  },
  env: process.env,
  runtime: (count) => new DockerodeRuntime(undefined, count),
  mounter: ({ cvmfsDir }) => createMounter({ paths: { cvmfsDir } }),
  mountHost: () => new SystemMountHost(),
  clock: systemClock,
  signals: process,
  exitNow: (code) => process.exit(code),
});
