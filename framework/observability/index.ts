export { renderMetrics } from './metrics.ts';
