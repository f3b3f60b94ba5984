#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS DOCKER_CERNVM_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node
// docker-cernvm-factory as installed. It runs the bundled command (dist/docker-cernvm-factory.cjs, all of it in one
// file: scripts/bundle.mjs) through the V8 code cache the build made beside it, so node neither parses nor compiles
// what starting needs (about 0.1 s here). Without a usable cache (another node, another build) it compiles as usual.
// The #! line:
// - NODE_EXTRA_CA_CERTS moves to DOCKER_CERNVM_EXTRA_CA_CERTS: node 20 parses that bundle and its own ~140 roots as
//   every process starts, 75-100 ms here, before a line of this file runs. The factory's one TLS peer is a Docker
//   engine; src/engine-client.ts hands the bundle to it in the one case it would have been used.
// - No V8 flags. Any flag changes V8's flag hash, and node's own modules then miss the code cache built into node and
//   compile from source: with --max-semi-space-size=1 (a 1 MB young generation, once here for memory) node:crypto
//   loaded in 5.9 ms instead of 1.8, and a fill of 16 from process start took 4 % longer (bench/compare-builds.mjs).
//   Without it the daemon held 77 MB at 64 slots over 5 minutes against 67 MB (bench/steady.mjs; target 100 MB).
// CommonJS itself: node starts an ES module through its ESM loader, ~25 ms more before the first line runs.
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.join(__dirname, '..', 'dist', 'docker-cernvm-factory.cjs');
const bytes = readFileSync(bundle);
// V8 checks a cache against its own version and flags, but against the source only by length: the name carries
// a hash of the source, so a cache never meets a bundle it was not made from. (The bytes: hashing the decoded text
// would encode it again.)
const cacheFile = `${bundle}.${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.v8cache`;
// ASCII (the build makes sure): Latin-1 decodes it exactly, three times faster than UTF-8.
const source = bytes.toString('latin1');
// `make`: the build writes the cache after this run; `report`: say on stderr whether the cache was used (tests).
const mode = process.env.DOCKER_CERNVM_FACTORY_CODE_CACHE;

let cachedData;
if (mode !== 'make') {
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache: compile as usual
  }
}
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
if (mode === 'report') process.stderr.write(`code cache: ${!cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
if (mode === 'make') process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));

const commonjsModule = { exports: {} };
script.runInThisContext()(commonjsModule.exports, createRequire(bundle), commonjsModule, bundle, path.dirname(bundle));
