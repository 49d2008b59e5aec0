// @ts-check
// Run page: live event log over server-sent events, and the cancel button.
import { byId, el, messageOf, post } from './common.js';
import { ID } from './ids.js';

/** @typedef {import('../api-schemas.ts').RunEvent} RunEvent */
/** @typedef {import('../api-schemas.ts').OutputChunk} OutputChunk */
/** @typedef {import('../api-schemas.ts').RunEnd} RunEnd */

/**
 * The data of a server-sent event, typed by the API schema of its event type.
 * @template T
 * @param {Event} msg
 * @returns {T}
 */
const dataOf = (msg) => JSON.parse(/** @type {MessageEvent<string>} */ (msg).data);

(() => {
  const table = document.getElementById(ID.events);
  const cancel = document.getElementById(ID.cancel);
  if (cancel instanceof HTMLButtonElement) {
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      cancel.textContent = 'Canceling…';
      try {
        await post(`/api/runs/${encodeURIComponent(cancel.dataset.runId ?? '')}/cancel`);
      } catch (e) {
        cancel.textContent = `Cancel failed: ${messageOf(e)}`;
      }
    });
  }
  if (table?.dataset.active !== 'true') return;

  // The running steps' compute logs, line by line (`output` events), until the run ends.
  const output = document.getElementById(ID.liveOutput);
  if (output) {
    const lines = new EventSource(`/api/runs/${encodeURIComponent(output.dataset.runId ?? '')}/output`);
    // a reconnect (network blip, server restart) streams the logs from their start again: start the box over
    let opened = false;
    lines.addEventListener('open', () => {
      if (opened) output.replaceChildren();
      opened = true;
    });
    lines.addEventListener('output', (msg) => {
      /** @type {OutputChunk} */
      const chunk = dataOf(msg);
      const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.append(chunk.lines.map((line) => `${chunk.step} | ${line}\n`).join(''));
      if (atBottom) output.scrollTop = output.scrollHeight;
    });
    lines.addEventListener('end', () => lines.close());
  }

  const body = table.querySelector('tbody');
  const status = byId(ID.runStatus, HTMLElement);
  const runId = table.dataset.runId ?? '';
  const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events?after=${table.dataset.after}`);

  source.addEventListener('run-event', (msg) => {
    /** @type {RunEvent} */
    const e = dataOf(msg);
    if (e.level === 'debug') return;
    const where = e.asset_key ? `${e.asset_key}${e.partition_key ? ` [${e.partition_key}]` : ''}` : '';
    const row = el('tr', { class: `lvl-${e.level}` });
    row.append(
      el('td', {}, e.ts.replace('T', ' ').slice(11, 19)),
      el('td', {}, e.level),
      el('td', {}, where),
      el('td', {}, e.message),
    );
    body?.append(row);
  });

  source.addEventListener('end', (msg) => {
    source.close();
    /** @type {RunEnd} */
    const end = dataOf(msg);
    status.dataset.status = end.status;
    status.replaceChildren(el('span', { class: `pill st-${end.status}` }, end.status));
    // Redraw the timeline and summary from the finished run.
    setTimeout(() => window.location.reload(), 400);
  });
})();
