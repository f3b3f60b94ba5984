#!/usr/bin/env node
import { DockerodePilotEngine } from '../docker-api.js';
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  io: { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
  engine: () => new DockerodePilotEngine(),
  signals: process,
});
