// Lineage graph: zoom (wheel) and pan (drag) through the SVG viewBox, selection filter, launch.

(() => {
  const svg = document.getElementById('graph');
  if (!svg) return;
  const full = { x: 0, y: 0, w: Number(svg.dataset.width) || 800, h: Number(svg.dataset.height) || 400 };
  const view = { ...full };
  const apply = () => svg.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`);

  // Fit the graph, but never magnify it: a 3-node graph drawn at 3x looks broken. Small graphs sit
  // centered at 1:1.
  (() => {
    const r = svg.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || full.w > r.width || full.h > r.height) return;
    view.w = r.width;
    view.h = r.height;
    view.x = -(r.width - full.w) / 2;
    view.y = -(r.height - full.h) / 2;
    apply();
  })();

  const toGraph = (clientX, clientY) => {
    const r = svg.getBoundingClientRect();
    // preserveAspectRatio xMidYMid meet: one scale, centered
    const s = Math.max(view.w / r.width, view.h / r.height);
    const ox = (r.width * s - view.w) / 2;
    const oy = (r.height * s - view.h) / 2;
    return { x: view.x - ox + (clientX - r.left) * s, y: view.y - oy + (clientY - r.top) * s, s };
  };

  svg.addEventListener(
    'wheel',
    (ev) => {
      ev.preventDefault();
      const p = toGraph(ev.clientX, ev.clientY);
      const k = Math.exp(ev.deltaY * 0.0015);
      const w = Math.min(Math.max(view.w * k, 80), full.w * 8 + 2000);
      const f = w / view.w;
      view.x = p.x - (p.x - view.x) * f;
      view.y = p.y - (p.y - view.y) * f;
      view.w = w;
      view.h *= f;
      apply();
    },
    { passive: false },
  );

  let drag = null;
  let moved = false;
  svg.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, s: toGraph(ev.clientX, ev.clientY).s };
    moved = false;
  });
  window.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
    if (!moved) return;
    view.x = drag.vx - dx * drag.s;
    view.y = drag.vy - dy * drag.s;
    apply();
  });
  window.addEventListener('pointerup', () => {
    drag = null;
  });
  // A drag must not follow the link under the pointer.
  svg.addEventListener(
    'click',
    (ev) => {
      if (moved) {
        ev.preventDefault();
        moved = false;
      }
    },
    true,
  );

  const input = document.getElementById('filter');
  const errorBox = document.getElementById('filter-error');
  const count = document.getElementById('filter-count');
  const nodes = [...svg.querySelectorAll('.node')];
  const edges = [...svg.querySelectorAll('.edges path')];
  let selected = null;

  function highlight(keys) {
    selected = keys;
    const set = keys ? new Set(keys) : null;
    svg.classList.toggle('filtering', Boolean(set));
    for (const n of nodes) n.classList.toggle('selected', Boolean(set?.has(n.dataset.key)));
    for (const e of edges) e.classList.toggle('selected', Boolean(set?.has(e.dataset.from) && set.has(e.dataset.to)));
    count.textContent = set ? `${set.size} selected` : '';
  }

  async function applyFilter() {
    const q = input.value.trim();
    errorBox.hidden = true;
    errorBox.textContent = '';
    if (!q) return highlight(null);
    const res = await fetch(`/api/selection?q=${encodeURIComponent(q)}`);
    const body = await res.json();
    if (!res.ok) {
      highlight([]);
      errorBox.textContent = body.error ? body.error.message : `HTTP ${res.status}`;
      errorBox.hidden = false;
      return;
    }
    highlight(body.keys);
    const url = new URL(window.location.href);
    url.searchParams.set('select', q);
    window.history.replaceState(null, '', url);
  }

  document.getElementById('filter-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    applyFilter();
  });
  document.getElementById('clear-filter').addEventListener('click', () => {
    input.value = '';
    applyFilter();
  });
  const initial = new URL(window.location.href).searchParams.get('select');
  if (initial) {
    input.value = initial;
    applyFilter();
  }

  document.getElementById('materialize').addEventListener('click', () => {
    const q = input.value.trim() || '*';
    const staleOnly = document.getElementById('stale-only').checked;
    window.fw.launch({ selection: q, staleOnly }, document.getElementById('launch-message'));
  });

  // Keep node colours and freshness badges current while runs happen elsewhere.
  setInterval(async () => {
    if (document.hidden) return;
    const res = await fetch('/api/assets');
    if (!res.ok) return;
    const { assets } = await res.json();
    const byKey = new Map(assets.map((a) => [a.key, a]));
    for (const n of nodes) {
      const a = byKey.get(n.dataset.key);
      const s = a?.status;
      if (s && s !== n.dataset.status) {
        n.classList.remove(`st-${n.dataset.status}`);
        n.classList.add(`st-${s}`);
        n.dataset.status = s;
      }
      const badge = n.querySelector('.fresh-badge');
      const f = a?.freshness;
      if (badge && f) {
        if (f.state !== badge.dataset.freshness) {
          badge.classList.remove(`fr-${badge.dataset.freshness}`);
          badge.classList.add(`fr-${f.state}`);
          badge.dataset.freshness = f.state;
          n.dataset.freshness = f.state;
          badge.querySelector('text').textContent = f.state.toLowerCase();
        }
        const where = f.partition_key ? ` [${f.partition_key}]` : '';
        badge.querySelector('title').textContent = `freshness ${f.state}${where}: ${f.text}`;
      }
    }
    if (selected) highlight(selected);
  }, 5000);
})();
