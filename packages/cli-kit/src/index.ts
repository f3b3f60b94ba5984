export { CliError } from './cli-error.js';
export { printable } from './printable.js';
