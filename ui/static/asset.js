// Asset page: one small uPlot chart per numeric metadata key over time (a series per partition), and
// the launch form.

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
  const COLORS = ['#1a73e8', '#d93025', '#188038', '#e37400', '#9334e6', '#12b5cb', '#b06000', '#5f6368'];

  async function draw() {
    const res = await fetch(`/api/assets/${encodeURIComponent(box.dataset.key)}/history?limit=500`);
    if (!res.ok) return;
    const items = (await res.json()).items.reverse();
    const metrics = [...new Set(items.flatMap((m) => Object.keys(m.numeric)))].sort();
    const partitions = [...new Set(items.map((m) => m.partition_key))].sort();
    const perPartition = partitions.length > 1 && partitions.length <= COLORS.length;
    box.replaceChildren();
    let total = 0;
    for (const metric of metrics) {
      const points = items.filter((m) => metric in m.numeric);
      const xs = [...new Set(points.map((m) => Date.parse(m.ts) / 1000))].sort((a, b) => a - b);
      const index = new Map(xs.map((x, i) => [x, i]));
      const seriesNames = perPartition ? partitions : ['all'];
      const ys = seriesNames.map(() => xs.map(() => null));
      for (const m of points) {
        const s = perPartition ? seriesNames.indexOf(m.partition_key) : 0;
        ys[s][index.get(Date.parse(m.ts) / 1000)] = m.numeric[metric];
      }
      const chart = window.fw.el('div', { class: 'plot', 'data-metric': metric, 'data-points': String(points.length) });
      chart.append(window.fw.el('h3', {}, `${metric} (${points.length} point${points.length === 1 ? '' : 's'})`));
      box.append(chart);
      total += points.length;
      new uPlot(
        {
          width: 420,
          height: 180,
          legend: { show: perPartition },
          scales: { x: { time: true } },
          series: [
            {},
            ...seriesNames.map((name, i) => ({
              label: name || 'value',
              stroke: COLORS[i % COLORS.length],
              width: 2,
              spanGaps: true,
              points: { show: true, size: 6 },
            })),
          ],
          axes: [{}, { size: 60 }],
        },
        [xs, ...ys],
        chart,
      );
    }
    box.dataset.points = String(total);
    box.dataset.ready = 'true';
  }
  draw();
})();
