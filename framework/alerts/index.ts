/** Alerts on state changes of runs and checks, sent to a webhook (generic JSON or Slack). */
export { type AlertConfig, alertConfigFrom } from './alert-config.ts';
export { type Alert, freshnessAlerts, runAlerts } from './run-alerts.ts';
export { alertPayload, sendAlerts } from './send-alerts.ts';
