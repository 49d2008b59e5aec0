#!/usr/bin/env node
// Registers tsx so asset definitions written in TypeScript load as they are, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { installFatalHandlers, main } = await import('../framework/cli/index.ts');
installFatalHandlers();
const code = await main(process.argv.slice(2));
// Let pending stdout writes drain before exiting.
process.exitCode = code;
// The command is done and recorded. A materializer may have left a timer or a socket behind (a canceled
// step's sleep, an unclosed client): do not wait for it. Unref'd, so a clean exit is not delayed.
setTimeout(() => process.exit(code), 1000).unref();
