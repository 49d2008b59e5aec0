import type { Logger } from 'pino';
import type { AlertConfig } from './alert-config.ts';
import type { Alert } from './run-alerts.ts';

const TIMEOUT_MS = 5000;

/** The request body: the alert as JSON, or Slack's incoming-webhook shape (`text`, one line per alert). */
export function alertPayload(config: AlertConfig, alert: Alert): unknown {
  if (config.format === 'json') return { source: 'fairway', ...alert };
  const icon = alert.state === 'firing' ? ':red_circle:' : ':large_green_circle:';
  const more = alert.partitions.count > alert.partitions.first.length ? ', …' : '';
  const parts = alert.partitions.count > 0 ? ` — partitions: ${alert.partitions.first.join(', ')}${more}` : '';
  return { text: `${icon} Fairway ${alert.kind.replace('_', ' ')} ${alert.state}: ${alert.message}${parts}` };
}

/**
 * POSTs each alert to the webhook, one request each, in order. A webhook that fails or does not answer within
 * 5 s is logged with the alert; it never fails the run that raised it.
 */
export async function sendAlerts(config: AlertConfig, alerts: Alert[], log: Logger): Promise<number> {
  let sent = 0;
  for (const alert of alerts) {
    try {
      const res = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alertPayload(config, alert)),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      sent++;
    } catch (e) {
      log.warn({ err: (e as Error).message, alert: alert.message }, 'alert webhook failed; the alert is in this log');
    }
  }
  return sent;
}
