// What the three packages' tests share: hostile strings and argv for property tests, a stand-in for process signals,
// what yargs prints.
export { SHELL_METACHARACTERS, anyName, isOneLine, pathLike, shelly, spliced } from './arbitraries.js';
export { type FlagSpec, RUNTIME_ERROR, STACK_FRAME, argvOf, argvPiece, oddValue } from './argv.js';
export { consoleLogOf, versionIn } from './console-log.js';
export { documentTextOf } from './documents.js';
export { FakeSignals } from './fake-signals.js';
