export { installFatalHandlers } from './fatal-handlers.ts';
export { main } from './main.ts';
