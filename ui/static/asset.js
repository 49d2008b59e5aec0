// @ts-check
// Asset page: small multiples of numeric metadata over time (uPlot, one shared legend, a metric picker),
// the launch form, and the table section (below).
import { byId, el, getJson, launch, messageOf } from './common.js';
import { ID } from './ids.js';

/** @typedef {import('../api-schemas.ts').Materialization} Materialization */
/** @typedef {import('../api-schemas.ts').HistoryPage} HistoryPage */
/** @typedef {import('../api-schemas.ts').TableMetadata} TableMetadata */
/** @typedef {import('../api-schemas.ts').TablePreview} TablePreview */
/** @typedef {{ names: string[], of: (partitionKey: string) => string }} Series */
/** @typedef {{ count: number, last: number | undefined, data: import('uplot').AlignedData }} ChartData */

/** uPlot is loaded as a classic script (/vendor/uplot.js) before this module runs. */
const uPlot = /** @type {{ uPlot?: typeof import('uplot') }} */ (/** @type {unknown} */ (window)).uPlot;

(() => {
  const form = document.getElementById(ID.launchForm);
  if (form instanceof HTMLFormElement) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const field = form.elements.namedItem('partition');
      const partition = field instanceof HTMLInputElement ? field.value.trim() : '';
      const staleOnly = form.elements.namedItem('staleOnly');
      launch(
        {
          selection: form.dataset.selection ?? '',
          staleOnly: staleOnly instanceof HTMLInputElement && staleOnly.checked,
          ...(partition ? { partition } : {}),
        },
        document.getElementById(ID.launchMessage),
      );
    });
  }

  const box = document.getElementById(ID.plots);
  if (!box?.dataset.metrics || typeof uPlot !== 'function') return;
  const Plot = uPlot;
  const plotsBox = box;
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
  const assetKey = box.dataset.key ?? '';
  const storageKey = `fairway.plotted.${assetKey}`;

  const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const full = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  /** @param {number} s */
  const fmtTime = (s) => new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 16);
  /** @param {number} n */
  const pointsText = (n) => `${n} point${n === 1 ? '' : 's'}`;
  /** @param {number} i */
  const color = (i) => COLORS[i % COLORS.length] ?? '#5f6368';

  /** @param {string} key @returns {Record<string, string>} */
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
   * @param {string[]} partitions
   * @returns {Series}
   */
  function seriesOf(partitions) {
    const parsed = partitions.map(parseKey);
    const dims = [...new Set(parsed.flatMap((p) => Object.keys(p)))];
    const varying = dims.filter((d) => new Set(parsed.map((p) => p[d])).size > 1);
    /** @param {Record<string, string>} p @param {string[]} ds */
    const label = (p, ds) => ds.map((d) => p[d] ?? '?').join(' · ') || 'value';
    const byPartition = new Map(partitions.map((k, i) => [k, label(parsed[i] ?? {}, varying)]));
    let names = [...new Set(byPartition.values())].sort();
    if (names.length > COLORS.length && varying.length > 1) {
      partitions.forEach((k, i) => {
        byPartition.set(k, label(parsed[i] ?? {}, varying.slice(0, 1)));
      });
      names = [...new Set(byPartition.values())].sort();
    }
    if (names.length > COLORS.length) {
      for (const k of partitions) byPartition.set(k, 'all partitions');
      names = ['all partitions'];
    }
    return { names, of: (partitionKey) => byPartition.get(partitionKey) ?? '' };
  }

  /** @param {string[]} names */
  function drawLegend(names) {
    const legend = byId(ID.plotLegend, HTMLElement);
    legend.replaceChildren();
    if (names.length < 2) return;
    names.forEach((name, i) => {
      const item = el('span', { class: 'item' });
      item.append(el('span', { class: 'swatch', style: `background:${color(i)}` }), name);
      legend.append(item);
    });
  }

  /**
   * @param {Materialization[]} items
   * @param {string} metric
   * @param {Series} series
   * @returns {ChartData}
   */
  function chartData(items, metric, series) {
    const points = items.filter((m) => metric in m.numeric);
    const xs = [...new Set(points.map((m) => Date.parse(m.ts) / 1000))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    /** @type {(number | null)[][]} */
    const ys = series.names.map(() => xs.map(() => null));
    for (const m of points) {
      const row = ys[series.names.indexOf(series.of(m.partition_key))];
      const at = index.get(Date.parse(m.ts) / 1000);
      if (row && at !== undefined) row[at] = m.numeric[metric] ?? null;
    }
    return { count: points.length, last: points.at(-1)?.numeric[metric], data: [xs, ...ys] };
  }

  /**
   * @param {string} metric
   * @param {ChartData} cd
   * @param {Series} series
   * @param {number} width
   */
  function makePlot(metric, cd, series, width) {
    const card = el('div', { class: 'plot', 'data-metric': metric, 'data-points': String(cd.count) });
    const head = el('div', { class: 'plot-head' });
    head.append(el('h3', { title: metric }, metric));
    head.append(
      el('span', { class: 'latest', title: 'latest value' }, cd.last === undefined ? '' : full.format(cd.last)),
    );
    const readout = el('div', { class: 'readout muted' }, pointsText(cd.count));
    card.append(head);
    const plot = new Plot(
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
            stroke: color(i),
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
                readout.textContent = pointsText(cd.count);
                return;
              }
              const parts = series.names.flatMap((name, s) => {
                const v = u.data[s + 1]?.[i];
                if (v === null || v === undefined) return [];
                return [series.names.length > 1 ? `${name}: ${full.format(v)}` : full.format(v)];
              });
              readout.textContent = `${fmtTime(u.data[0][i] ?? 0)} · ${parts.join(', ')}`;
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
    const picker = document.getElementById(ID.metricPicker);
    if (!picker) return metrics;
    return [...picker.querySelectorAll('input[name="metric"]:checked')].flatMap((i) =>
      i instanceof HTMLInputElement ? [i.value] : [],
    );
  }

  function restoreChoice() {
    const picker = document.getElementById(ID.metricPicker);
    const saved = picker ? window.localStorage?.getItem(storageKey) : null;
    if (!picker || !saved) return;
    const set = new Set(saved.split(','));
    for (const input of picker.querySelectorAll('input[name="metric"]')) {
      if (input instanceof HTMLInputElement) input.checked = set.has(input.value);
    }
  }

  async function draw() {
    const res = await fetch(`/api/assets/${encodeURIComponent(assetKey)}/history?limit=500`);
    if (!res.ok) return;
    /** @type {HistoryPage} */
    const page = await res.json();
    const items = page.items.reverse();
    const series = seriesOf([...new Set(items.map((m) => m.partition_key))].sort());
    drawLegend(series.names);
    const data = new Map(metrics.map((m) => [m, chartData(items, m, series)]));
    /** @type {Map<string, ReturnType<typeof makePlot>>} */
    const plots = new Map();
    const cardWidth = () => {
      const first = plotsBox.querySelector('.plot');
      return Math.max(200, Math.floor((first ? first.clientWidth : plotsBox.clientWidth) - 16));
    };

    function render() {
      const wanted = chosenMetrics();
      plotsBox.replaceChildren();
      for (const metric of wanted) {
        const cd = data.get(metric);
        if (!cd) continue;
        let made = plots.get(metric);
        if (!made) {
          // Placed first so the grid decides its width, then drawn at that width.
          const probe = el('div', { class: 'plot' });
          plotsBox.append(probe);
          const width = cardWidth();
          probe.remove();
          made = makePlot(metric, cd, series, width);
          plots.set(metric, made);
        }
        plotsBox.append(made.card);
      }
      plotsBox.dataset.shown = String(wanted.length);
    }

    restoreChoice();
    render();
    document.getElementById(ID.metricPicker)?.addEventListener('change', () => {
      window.localStorage?.setItem(storageKey, chosenMetrics().join(','));
      render();
    });
    new ResizeObserver(() => {
      const width = cardWidth();
      for (const { plot } of plots.values())
        if (Math.abs(plot.width - width) > 2) plot.setSize({ width, height: PLOT_HEIGHT });
    }).observe(plotsBox);

    let total = 0;
    for (const d of data.values()) total += d.count;
    plotsBox.dataset.points = String(total);
    plotsBox.dataset.ready = 'true';
  }
  draw();
})();

// Asset page: the asset's table, read on demand (metadata and a preview share one read on the server).
(() => {
  if (!document.getElementById(ID.tableSection)) return;
  const section = byId(ID.tableSection, HTMLElement);
  const key = encodeURIComponent(section.dataset.key ?? '');
  const button = byId(ID.tableLoad, HTMLButtonElement);
  const limit = byId(ID.tableLimit, HTMLSelectElement);
  const status = byId(ID.tableStatus, HTMLElement);
  const meta = byId(ID.tableMeta, HTMLTableElement);
  const preview = byId(ID.tablePreview, HTMLTableElement);
  const count = new Intl.NumberFormat('en-US');

  /** @param {unknown} v */
  const cellText = (v) =>
    v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);

  /** @param {TableMetadata} m */
  function showMeta(m) {
    /** @type {[string, string][]} */
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

  /** @param {TablePreview} p */
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
      /** @type {[TableMetadata, TablePreview]} */
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
      status.textContent = `Could not read the table: ${messageOf(e)}`;
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
