#!/usr/bin/env node
// Registers tsx so asset definitions written in TypeScript load as they are, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../framework/cli/index.ts');
const code = await main(process.argv.slice(2));
// Let pending stdout writes drain before exiting.
process.exitCode = code;
