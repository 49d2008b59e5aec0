// Run page: live event log over server-sent events, and the cancel button.

(() => {
  const table = document.getElementById('events');
  const cancel = document.getElementById('cancel');
  if (cancel) {
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      cancel.textContent = 'Canceling…';
      try {
        await window.fw.post(`/api/runs/${encodeURIComponent(cancel.dataset.runId)}/cancel`);
      } catch (e) {
        cancel.textContent = `Cancel failed: ${e.message}`;
      }
    });
  }
  if (table?.dataset.active !== 'true') return;

  // The running steps' compute logs, line by line (`output` events), until the run ends.
  const output = document.getElementById('live-output');
  if (output) {
    const lines = new EventSource(`/api/runs/${encodeURIComponent(output.dataset.runId)}/output`);
    // a reconnect (network blip, server restart) streams the logs from their start again: start the box over
    let opened = false;
    lines.addEventListener('open', () => {
      if (opened) output.replaceChildren();
      opened = true;
    });
    lines.addEventListener('output', (msg) => {
      const chunk = JSON.parse(msg.data);
      const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.append(chunk.lines.map((line) => `${chunk.step} | ${line}\n`).join(''));
      if (atBottom) output.scrollTop = output.scrollHeight;
    });
    lines.addEventListener('end', () => lines.close());
  }

  const body = table.querySelector('tbody');
  const status = document.getElementById('run-status');
  const runId = table.dataset.runId;
  const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events?after=${table.dataset.after}`);

  source.addEventListener('run-event', (msg) => {
    const e = JSON.parse(msg.data);
    if (e.level === 'debug') return;
    const where = e.asset_key ? `${e.asset_key}${e.partition_key ? ` [${e.partition_key}]` : ''}` : '';
    const row = window.fw.el('tr', { class: `lvl-${e.level}` });
    row.append(
      window.fw.el('td', {}, e.ts.replace('T', ' ').slice(11, 19)),
      window.fw.el('td', {}, e.level),
      window.fw.el('td', {}, where),
      window.fw.el('td', {}, e.message),
    );
    body.append(row);
  });

  source.addEventListener('end', (msg) => {
    source.close();
    const end = JSON.parse(msg.data);
    status.dataset.status = end.status;
    const pill = window.fw.el('span', { class: `pill st-${end.status}` }, end.status);
    status.replaceChildren(pill);
    // Redraw the timeline and summary from the finished run.
    setTimeout(() => window.location.reload(), 400);
  });
})();
