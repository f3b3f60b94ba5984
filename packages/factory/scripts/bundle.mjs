// Bundles the factory's command into one CommonJS file, dist/docker-cernvm-factory.cjs, and makes the V8 code cache
// that the package's bin (bin/docker-cernvm-factory.cjs) loads it with.
//
// Why: unbundled, node resolves, reads and compiles about 600 modules before the factory makes its first
// container; that took 0.6-1.0 s of `start --slots 16` (bench/fill.mjs), more than the fill itself. One file of
// already-linked code loads in a third of that, and the code cache takes another fifth off. CommonJS, because node 20
// takes a code cache only for scripts, not for ES modules.
//
// Left out of the bundle: the modules that only features the factory never uses need (DEFERRED below: ssh:// engines,
// BuildKit builds, metric exemplars). They pull in ssh2, gRPC, protobufjs and OpenTelemetry (a third of the load
// time), and some read files beside themselves, which a bundle cannot. Each is replaced by a forwarder that requires
// the real module from node_modules the first time it is used.
import { execFile } from 'node:child_process';
import { copyFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(packageDir, 'dist', 'docker-cernvm-factory.cjs');
const bin = path.join(packageDir, 'bin', 'docker-cernvm-factory.cjs');
const require = createRequire(path.join(packageDir, 'package.json'));

/**
 * Modules required at load but used only by features the factory never turns on. `from` is the package whose code
 * requires it (the module is resolved from there, as node would); `kind` is how the forwarder hands over: `function`
 * (the module is a function, called later), `object` (its exports are read later), `module` (the require itself is
 * the first use).
 */
const DEFERRED = [
  // modem.js calls it only for ssh:// hosts.
  { from: 'dockerode', specifier: 'docker-modem/lib/ssh.js', kind: 'function' },
  // docker.js calls it only for BuildKit builds.
  { from: 'dockerode', specifier: 'dockerode/lib/session.js', kind: 'function' },
  // docker.js requires it inside buildImage.
  { from: 'dockerode', specifier: 'dockerode/lib/buildkit.js', kind: 'module' },
  // The process CPU metric reads the active trace only when exemplars are on; the factory's metrics have none.
  { from: 'prom-client', specifier: '@opentelemetry/api', kind: 'object' },
];

const deferredPaths = new Map(DEFERRED.map((d) => [createRequire(require.resolve(d.from)).resolve(d.specifier), d]));

const FORWARDERS = {
  function: (load) => `let real;\nmodule.exports = function (...args) { real ??= ${load}; return real.apply(this, args); };\n`,
  object: (load) => `let real;\nmodule.exports = new Proxy({}, { get: (_, key) => (real ??= ${load})[key] });\n`,
  module: (load) => `module.exports = ${load};\n`,
};

const deferModules = {
  name: 'defer-modules',
  setup(bundle) {
    bundle.onLoad({ filter: /\.[cm]?js$/ }, ({ path: file }) => {
      const deferred = deferredPaths.get(file);
      if (!deferred) return undefined;
      const load = `__createRequire(__bundleRequire.resolve(${JSON.stringify(deferred.from)}))(${JSON.stringify(deferred.specifier)})`;
      return { contents: FORWARDERS[deferred.kind](load), loader: 'js' };
    });
  },
};

// Modules kept in the bundle but evaluated at their first call: string-width (three copies, for yargs' help layout)
// builds Unicode property regular expressions and an Intl.Segmenter as it loads, 20-50 ms of every start here, yet
// only --help and the usage of an unknown command measure text. Each copy is replaced by a function that evaluates
// the real module (the same file, loaded again under a suffix this plugin lets through) when first called.
const LAZY = [{ file: /\/node_modules\/(?:.+\/)?string-width\/index\.js$/, exports: /^export default function stringWidth\(/m }];
const LAZY_SUFFIX = '?evaluated-on-first-call';

const lazyModules = {
  name: 'lazy-modules',
  setup(bundle) {
    bundle.onLoad({ filter: /\.[cm]?js$/ }, async ({ path: file, suffix }) => {
      const lazy = LAZY.find((l) => l.file.test(file));
      if (!lazy) return undefined;
      const source = await readFile(file, 'utf8');
      // Only a module whose one export is a default function can be forwarded this way: an update that changes it
      // must fail the build, not ship a broken forwarder.
      if (!lazy.exports.test(source) || /^export (?!default function)/m.test(source)) throw new Error(`${file}: no longer one default function; review LAZY`);
      if (suffix === LAZY_SUFFIX) return { contents: source, loader: 'js' };
      const real = JSON.stringify(file + LAZY_SUFFIX);
      return { contents: `export default function forwarder(...args) { return require(${real}).default.apply(this, args); }\n`, loader: 'js' };
    });
  },
};

// Third-party lines changed in the bundle, each found exactly once or the build fails (review PATCHES on an update).
// docker-modem formats every request's options, to any depth and with hidden properties, for a debug line that is
// off unless DEBUG names it: 3 ms of the factory's CPU in a fill of 16 (a CPU profile), CPU the engine needs then.
// In the bundle it formats them only when the line is on.
const PATCHES = [
  {
    file: /\/node_modules\/docker-modem\/lib\/modem\.js$/,
    find: "debug('Sending: %s', util.inspect(options, {",
    replace: "if (debug.enabled) debug('Sending: %s', util.inspect(options, {",
  },
];

const patchModules = {
  name: 'patch-modules',
  setup(bundle) {
    bundle.onLoad({ filter: /\.[cm]?js$/ }, async ({ path: file }) => {
      const patch = PATCHES.find((p) => p.file.test(file));
      if (!patch) return undefined;
      const source = await readFile(file, 'utf8');
      if (source.split(patch.find).length !== 2) throw new Error(`${file}: ${JSON.stringify(patch.find)} is not there once; review PATCHES`);
      return { contents: source.replace(patch.find, patch.replace), loader: 'js' };
    });
  },
};

const { outputFiles } = await build({
  entryPoints: [path.join(packageDir, 'dist', 'cli', 'bin.js')],
  outfile,
  write: false, // written once below, as ASCII
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  plugins: [deferModules, lazyModules, patchModules],
  // The ES modules inside (yargs, the pilot's entrypoint reader) find files by their own URL: the bundle's.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: {
    js: [
      "const { createRequire: __createRequire } = require('node:module');",
      'const __bundleRequire = require;',
      "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;",
    ].join('\n'),
  },
});

// Plain ASCII, so the bin decodes it as Latin-1 and V8 holds it as a one-byte string: one character outside ASCII
// makes the whole 1.4 MB source two-byte, and UTF-8 decoding alone took 1.5 ms of every start against 0.5. esbuild
// escapes such characters in code (charset ascii, its default), not in the comments it keeps (emoji in p-queue's);
// each UTF-16 unit left is written as \uXXXX, text in a comment and the same character in a string or a pattern.
await writeFile(outfile, outputFiles[0].text.replace(/[^\0-\x7f]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`));

// The pilot reads its entrypoint script beside its own module, which in the bundle is this file.
await copyFile(path.join(path.dirname(require.resolve('@docker-cernvm/pilot')), 'entrypoint.sh'), path.join(path.dirname(outfile), 'entrypoint.sh'));

// The code cache: the bin runs the command once, by its own #! line (V8 takes a cache only under the flags it was
// made with), through the argument check of `start` (all the modules load, nothing touches the engine), and writes
// what V8 compiled on the way.
const stale = (await readdir(path.dirname(outfile))).filter((f) => f.startsWith(`${path.basename(outfile)}.`) && f.endsWith('.v8cache'));
await Promise.all(stale.map((f) => rm(path.join(path.dirname(outfile), f))));
const check = await promisify(execFile)(bin, ['start', '--slots', 'none'], {
  env: { ...process.env, DOCKER_CERNVM_FACTORY_CODE_CACHE: 'make' },
}).then(
  () => ({ code: 0, stderr: '' }),
  (error) => error,
);
if (check.code !== 2 || !check.stderr.startsWith('error: --slots')) throw new Error(`the bundled command did not run: ${check.stderr || check.message}`);
