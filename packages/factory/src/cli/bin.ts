#!/usr/bin/env node
import { createMounter } from '@docker-cernvm/mounter';
import { SystemMountHost } from '@docker-cernvm/pilot';
import Docker from 'dockerode';
import { systemClock } from '../clock.js';
import { DetectedRuntime } from '../detected-runtime.js';
import { runCli } from './main.js';

// Until runCli settles, an uncaught failure must not look like success.
process.exitCode = 1;
// One engine client (dockerode's, from DOCKER_HOST and its friends) for the runtime and the mounter. Made when first
// asked for: --help and the control commands never read DOCKER_CERT_PATH.
let engine: Docker | undefined;
const sharedEngine = (): Docker => (engine ??= new Docker());
void runCli(process.argv.slice(2), {
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTerminal: process.stderr.isTTY === true,
  },
  env: process.env,
  runtime: (count) => new DetectedRuntime(sharedEngine(), count),
  mounter: ({ cvmfsDir }) => createMounter({ paths: { cvmfsDir }, docker: sharedEngine() }),
  mountHost: () => new SystemMountHost(),
  clock: systemClock,
  signals: process,
  exitNow: (code) => process.exit(code),
}).then((code) => {
  process.exitCode = code;
});
