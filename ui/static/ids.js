// @ts-check
// Element ids shared by the server-rendered pages (ui/pages/*.tsx import this file) and the browser code:
// named once, so renaming one on either side breaks the type check, not the page.

export const ID = /** @type {const} */ ({
  // lineage graph (graph-page.tsx, graph.js)
  graph: 'graph',
  filterForm: 'filter-form',
  filter: 'filter',
  clearFilter: 'clear-filter',
  filterCount: 'filter-count',
  filterError: 'filter-error',
  staleOnly: 'stale-only',
  materialize: 'materialize',
  launchMessage: 'launch-message',
  // asset page (asset-page.tsx, table-section.tsx, asset.js)
  launchForm: 'launch-form',
  metricPicker: 'metric-picker',
  plotLegend: 'plot-legend',
  plots: 'plots',
  tableSection: 'table-section',
  tableLoad: 'table-load',
  tableLimit: 'table-limit',
  tableStatus: 'table-status',
  tableMeta: 'table-meta',
  tablePreview: 'table-preview',
  // run page (run-page.tsx, run.js)
  runStatus: 'run-status',
  cancel: 'cancel',
  liveOutput: 'live-output',
  events: 'events',
});
