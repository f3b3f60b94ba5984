export { CliError } from './cli-error.js';
export { printable } from './printable.js';
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliProgram, runProgram } from './run-cli.js';
export { packageVersion } from './package-version.js';
export { OptionError, oneValue, textValues } from './option-values.js';
