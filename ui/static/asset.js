// Asset page: small multiples of numeric metadata over time (uPlot, one shared legend, a metric picker),
// the launch form, and the table section (below).

(() => {
  const form = document.getElementById('launch-form');
  if (form) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const partition = form.elements.partition ? form.elements.partition.value.trim() : '';
      const body = { selection: form.dataset.selection, staleOnly: form.elements.staleOnly.checked };
      if (partition) body.partition = partition;
      window.fw.launch(body, document.getElementById('launch-message'));
    });
  }

  const box = document.getElementById('plots');
  if (!box?.dataset.metrics || typeof window.uPlot !== 'function') return;
  const { el } = window.fw;
  const COLORS = [
    '#1a73e8',
    '#d93025',
    '#188038',
    '#e37400',
    '#9334e6',
    '#12b5cb',
    '#b06000',
    '#5f6368',
    '#c2185b',
    '#3949ab',
  ];
  const PLOT_HEIGHT = 140;
  const metrics = box.dataset.metrics.split(',');
  const storageKey = `fairway.plotted.${box.dataset.key}`;

  const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const full = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const fmtTime = (s) => new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 16);

  const parseKey = (key) =>
    Object.fromEntries(
      (key ? key.split(',') : []).map((pair) => {
        const i = pair.indexOf('=');
        return i < 0 ? ['', pair] : [pair.slice(0, i), pair.slice(i + 1)];
      }),
    );

  /**
   * Series per partition, labelled by the dimension values that differ between partitions. Too many for a
   * readable legend: one series per value of the first varying dimension (e.g. per course over dates), or one.
   */
  function seriesOf(partitions) {
    const parsed = partitions.map(parseKey);
    const dims = [...new Set(parsed.flatMap((p) => Object.keys(p)))];
    const varying = dims.filter((d) => new Set(parsed.map((p) => p[d])).size > 1);
    const label = (p, ds) => ds.map((d) => p[d] ?? '?').join(' · ') || 'value';
    const byPartition = new Map(partitions.map((k, i) => [k, label(parsed[i], varying)]));
    let names = [...new Set(byPartition.values())].sort();
    if (names.length > COLORS.length && varying.length > 1) {
      for (const [k, i] of partitions.map((k, i) => [k, i])) byPartition.set(k, label(parsed[i], varying.slice(0, 1)));
      names = [...new Set(byPartition.values())].sort();
    }
    if (names.length > COLORS.length) {
      for (const k of partitions) byPartition.set(k, 'all partitions');
      names = ['all partitions'];
    }
    return { names, of: (partitionKey) => byPartition.get(partitionKey) };
  }

  function drawLegend(names) {
    const legend = document.getElementById('plot-legend');
    legend.replaceChildren();
    if (names.length < 2) return;
    names.forEach((name, i) => {
      const item = el('span', { class: 'item' });
      item.append(el('span', { class: 'swatch', style: `background:${COLORS[i % COLORS.length]}` }), name);
      legend.append(item);
    });
  }

  function chartData(items, metric, series) {
    const points = items.filter((m) => metric in m.numeric);
    const xs = [...new Set(points.map((m) => Date.parse(m.ts) / 1000))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = series.names.map(() => xs.map(() => null));
    for (const m of points) {
      ys[series.names.indexOf(series.of(m.partition_key))][index.get(Date.parse(m.ts) / 1000)] = m.numeric[metric];
    }
    return { count: points.length, last: points.at(-1)?.numeric[metric], data: [xs, ...ys] };
  }

  function makePlot(metric, cd, series, width) {
    const card = el('div', { class: 'plot', 'data-metric': metric, 'data-points': String(cd.count) });
    const head = el('div', { class: 'plot-head' });
    head.append(el('h3', { title: metric }, metric));
    head.append(
      el('span', { class: 'latest', title: 'latest value' }, cd.last === undefined ? '' : full.format(cd.last)),
    );
    const readout = el('div', { class: 'readout muted' }, `${cd.count} point${cd.count === 1 ? '' : 's'}`);
    card.append(head);
    const plot = new uPlot(
      {
        width,
        height: PLOT_HEIGHT,
        legend: { show: false },
        cursor: { points: { size: 7 } },
        scales: { x: { time: true } },
        series: [
          {},
          ...series.names.map((name, i) => ({
            label: name,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 5 },
          })),
        ],
        axes: [
          { space: 80, size: 40, font: '11px system-ui', ticks: { size: 4 } },
          { size: 44, font: '11px system-ui', values: (_u, splits) => splits.map((v) => compact.format(v)) },
        ],
        hooks: {
          setCursor: [
            (u) => {
              const i = u.cursor.idx;
              if (i === null || i === undefined) {
                readout.textContent = `${cd.count} point${cd.count === 1 ? '' : 's'}`;
                return;
              }
              const parts = series.names
                .map((name, s) => [name, u.data[s + 1][i]])
                .filter(([, v]) => v !== null && v !== undefined)
                .map(([name, v]) => (series.names.length > 1 ? `${name}: ${full.format(v)}` : full.format(v)));
              readout.textContent = `${fmtTime(u.data[0][i])} · ${parts.join(', ')}`;
            },
          ],
        },
      },
      cd.data,
      card,
    );
    card.append(readout);
    return { card, plot };
  }

  function chosenMetrics() {
    const picker = document.getElementById('metric-picker');
    if (!picker) return metrics;
    return [...picker.querySelectorAll('input[name="metric"]:checked')].map((i) => i.value);
  }

  function restoreChoice() {
    const picker = document.getElementById('metric-picker');
    const saved = picker ? window.localStorage?.getItem(storageKey) : null;
    if (!picker || !saved) return;
    const set = new Set(saved.split(','));
    for (const input of picker.querySelectorAll('input[name="metric"]')) input.checked = set.has(input.value);
  }

  async function draw() {
    const res = await fetch(`/api/assets/${encodeURIComponent(box.dataset.key)}/history?limit=500`);
    if (!res.ok) return;
    const items = (await res.json()).items.reverse();
    const series = seriesOf([...new Set(items.map((m) => m.partition_key))].sort());
    drawLegend(series.names);
    const data = new Map(metrics.map((m) => [m, chartData(items, m, series)]));
    const plots = new Map();
    const cardWidth = () => {
      const first = box.querySelector('.plot');
      return Math.max(200, Math.floor((first ? first.clientWidth : box.clientWidth) - 16));
    };

    function render() {
      const wanted = chosenMetrics();
      box.replaceChildren();
      for (const metric of wanted) {
        if (!data.has(metric)) continue;
        if (!plots.has(metric)) {
          // Placed first so the grid decides its width, then drawn at that width.
          const probe = el('div', { class: 'plot' });
          box.append(probe);
          const width = cardWidth();
          probe.remove();
          plots.set(metric, makePlot(metric, data.get(metric), series, width));
        }
        box.append(plots.get(metric).card);
      }
      box.dataset.shown = String(wanted.length);
    }

    restoreChoice();
    render();
    document.getElementById('metric-picker')?.addEventListener('change', () => {
      window.localStorage?.setItem(storageKey, chosenMetrics().join(','));
      render();
    });
    new ResizeObserver(() => {
      const width = cardWidth();
      for (const { plot } of plots.values())
        if (Math.abs(plot.width - width) > 2) plot.setSize({ width, height: PLOT_HEIGHT });
    }).observe(box);

    let total = 0;
    for (const d of data.values()) total += d.count;
    box.dataset.points = String(total);
    box.dataset.ready = 'true';
  }
  draw();
})();

// Asset page: the asset's table, read on demand (metadata and a preview share one read on the server).
(() => {
  const section = document.getElementById('table-section');
  if (!section) return;
  const { el } = window.fw;
  const key = encodeURIComponent(section.dataset.key);
  const button = document.getElementById('table-load');
  const limit = document.getElementById('table-limit');
  const status = document.getElementById('table-status');
  const meta = document.getElementById('table-meta');
  const preview = document.getElementById('table-preview');
  const count = new Intl.NumberFormat('en-US');

  async function getJson(url) {
    const res = await fetch(url, { credentials: 'same-origin' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error?.message || `HTTP ${res.status}`);
    return body;
  }

  const cellText = (v) =>
    v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);

  function showMeta(m) {
    const rows = [
      ['table', m.table],
      ['engine', m.engine],
      ['rows', count.format(m.row_count)],
      ['snapshot id', m.snapshot_id ?? '-'],
      [m.time_column ? `max ${m.time_column}` : 'max event time', m.max_event_time ?? '-'],
      ['read at', m.read_at],
    ];
    const body = el('tbody');
    for (const [k, v] of rows) {
      const tr = el('tr', { 'data-field': k });
      tr.append(el('th', {}, k), el('td', {}, v));
      body.append(tr);
    }
    meta.replaceChildren(body);
    meta.hidden = false;
  }

  function showPreview(p) {
    const head = el('tr');
    for (const c of p.columns) head.append(el('th', { scope: 'col' }, c));
    const body = el('tbody');
    for (const row of p.rows) {
      const tr = el('tr');
      for (const v of row) tr.append(el('td', { title: cellText(v) }, cellText(v)));
      body.append(tr);
    }
    const thead = el('thead');
    thead.append(head);
    preview.replaceChildren(thead, body);
    preview.hidden = false;
    preview.dataset.rows = String(p.rows.length);
  }

  async function load() {
    button.disabled = true;
    limit.disabled = true;
    section.dataset.state = 'loading';
    const started = Date.now();
    const tick = () => {
      status.textContent = `Reading ${section.dataset.table}… ${Math.round((Date.now() - started) / 1000)} s`;
    };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      const [m, p] = await Promise.all([
        getJson(`/api/assets/${key}/table`),
        getJson(`/api/assets/${key}/preview?limit=${encodeURIComponent(limit.value)}`),
      ]);
      showMeta(m);
      showPreview(p);
      status.textContent = `${p.rows.length} of ${count.format(m.row_count)} rows, read at ${m.read_at} (reused for a minute).`;
      section.dataset.state = 'loaded';
      button.textContent = 'Load again';
    } catch (e) {
      status.textContent = `Could not read the table: ${e.message}`;
      section.dataset.state = 'error';
    } finally {
      clearInterval(timer);
      button.disabled = false;
      limit.disabled = false;
    }
  }

  button.addEventListener('click', load);
  limit.addEventListener('change', () => {
    if (section.dataset.state === 'loaded') load();
  });
})();
