#!/usr/bin/env node
import { createMounter } from '../create-mounter.js';
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  io: { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
  createMounter: (settings) => createMounter(settings),
});
