#!/usr/bin/env node
// npm links this file at install, before a clone's build has made dist/; it runs the built command.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('error: docker-cernvm-factory is not built: run `npm run build` in the repository\n');
  process.exit(1);
}
await import(built.href);
