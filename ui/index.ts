export { createApp } from './app.ts';
export { allowedHostsFor, type RunningServer, type ServeOptions, startServer } from './server.ts';
