// @ts-check
// Lineage graph: zoom (wheel) and pan (drag) through the SVG viewBox, selection filter, launch.
import { byId, launch } from './common.js';
import { ID } from './ids.js';

/** @typedef {import('../api-schemas.ts').AssetsAnswer} AssetsAnswer */
/** @typedef {import('../api-schemas.ts').SelectionAnswer} SelectionAnswer */
/** @typedef {import('../api-schemas.ts').ErrorBody} ErrorBody */

(() => {
  if (!document.getElementById(ID.graph)) return;
  const svg = byId(ID.graph, SVGSVGElement);
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

  /** @param {number} clientX @param {number} clientY */
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

  /** @type {{ x: number, y: number, vx: number, vy: number, s: number } | null} */
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

  const input = byId(ID.filter, HTMLInputElement);
  const errorBox = byId(ID.filterError, HTMLElement);
  const count = byId(ID.filterCount, HTMLElement);
  const nodes = [...svg.querySelectorAll('.node')].filter((n) => n instanceof SVGElement);
  const edges = [...svg.querySelectorAll('.edges path')].filter((e) => e instanceof SVGElement);
  /** @type {string[] | null} */
  let selected = null;

  /** @param {string[] | null} keys */
  function highlight(keys) {
    selected = keys;
    const set = keys ? new Set(keys) : null;
    svg.classList.toggle('filtering', Boolean(set));
    for (const n of nodes) n.classList.toggle('selected', Boolean(set?.has(n.dataset.key ?? '')));
    for (const e of edges) {
      e.classList.toggle('selected', Boolean(set?.has(e.dataset.from ?? '') && set.has(e.dataset.to ?? '')));
    }
    count.textContent = set ? `${set.size} selected` : '';
  }

  async function applyFilter() {
    const q = input.value.trim();
    errorBox.hidden = true;
    errorBox.textContent = '';
    if (!q) return highlight(null);
    const res = await fetch(`/api/selection?q=${encodeURIComponent(q)}`);
    if (!res.ok) {
      /** @type {Partial<ErrorBody>} */
      const body = await res.json().catch(() => ({}));
      highlight([]);
      errorBox.textContent = body.error ? body.error.message : `HTTP ${res.status}`;
      errorBox.hidden = false;
      return;
    }
    /** @type {SelectionAnswer} */
    const body = await res.json();
    highlight(body.keys);
    const url = new URL(window.location.href);
    url.searchParams.set('select', q);
    window.history.replaceState(null, '', url);
  }

  byId(ID.filterForm, HTMLFormElement).addEventListener('submit', (ev) => {
    ev.preventDefault();
    applyFilter();
  });
  byId(ID.clearFilter, HTMLButtonElement).addEventListener('click', () => {
    input.value = '';
    applyFilter();
  });
  const initial = new URL(window.location.href).searchParams.get('select');
  if (initial) {
    input.value = initial;
    applyFilter();
  }

  byId(ID.materialize, HTMLButtonElement).addEventListener('click', () => {
    const q = input.value.trim() || '*';
    const staleOnly = byId(ID.staleOnly, HTMLInputElement).checked;
    launch({ selection: q, staleOnly }, document.getElementById(ID.launchMessage));
  });

  // Keep node colours and freshness badges current while runs happen elsewhere.
  setInterval(async () => {
    if (document.hidden) return;
    const res = await fetch('/api/assets');
    if (!res.ok) return;
    /** @type {AssetsAnswer} */
    const { assets } = await res.json();
    const byKey = new Map(assets.map((a) => [a.key, a]));
    for (const n of nodes) {
      const a = byKey.get(n.dataset.key ?? '');
      const s = a?.status;
      if (s && s !== n.dataset.status) {
        n.classList.remove(`st-${n.dataset.status}`);
        n.classList.add(`st-${s}`);
        n.dataset.status = s;
      }
      const badge = n.querySelector('.fresh-badge');
      const f = a?.freshness;
      if (badge instanceof SVGElement && f) {
        if (f.state !== badge.dataset.freshness) {
          badge.classList.remove(`fr-${badge.dataset.freshness}`);
          badge.classList.add(`fr-${f.state}`);
          badge.dataset.freshness = f.state;
          n.dataset.freshness = f.state;
          const text = badge.querySelector('text');
          if (text) text.textContent = f.state.toLowerCase();
        }
        const where = f.partition_key ? ` [${f.partition_key}]` : '';
        const title = badge.querySelector('title');
        if (title) title.textContent = `freshness ${f.state}${where}: ${f.text}`;
      }
    }
    if (selected) highlight(selected);
  }, 5000);
})();
