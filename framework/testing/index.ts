/**
 * Helpers for testing assets (`import { runPlanForTest } from 'fairway/testing'`): run assets in memory,
 * no store, and look at their events and outcomes; or open a project on an in-memory store.
 */
export { runPlanForTest, type TestRun, type TestRunOptions } from '../execution/index.ts';
export { openStore, type Store } from '../storage/index.ts';
