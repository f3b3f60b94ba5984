// Bundles the factory's command into one ES module, dist/docker-cernvm-factory.mjs, the package's bin.
//
// Why: unbundled, node resolves, reads and compiles about 600 modules before the factory makes its first
// container; that took 0.6-1.0 s of `start --slots 16` (bench/fill.mjs), more than the fill itself.
// One file of already-linked code loads in a third of that.
//
// Left out of the bundle: the modules that only features the factory never uses need (DEFERRED below: ssh:// engines,
// BuildKit builds, metric exemplars). They pull in ssh2, gRPC, protobufjs and OpenTelemetry (a third of the load
// time), and some read files beside themselves, which a bundle cannot. Each is replaced by a forwarder that requires
// the real module from node_modules the first time it is used.
import { copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outfile = path.join(packageDir, 'dist', 'docker-cernvm-factory.mjs');
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

await build({
  entryPoints: [path.join(packageDir, 'dist', 'cli', 'bin.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [deferModules],
  // The CommonJS modules inside (dockerode and its kin) require node's own modules: an ES module has no `require`.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst __bundleRequire = __createRequire(import.meta.url);\nconst require = __bundleRequire;" },
});

// The pilot reads its entrypoint script beside its own module, which in the bundle is this file.
await copyFile(path.join(path.dirname(require.resolve('@docker-cernvm/pilot')), 'entrypoint.sh'), path.join(path.dirname(outfile), 'entrypoint.sh'));
