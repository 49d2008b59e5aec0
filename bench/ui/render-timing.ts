import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export interface RenderTiming {
  /** Navigation start → every node in the SVG and two animation frames later (so it was painted). */
  median_ms: number;
  samples_ms: number[];
  /** The browser's own navigation timing of the median sample. */
  response_end_ms: number;
  dom_content_loaded_ms: number;
  load_event_ms: number;
  nodes: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times first render of the lineage page in headless Chromium: a fresh browser context (cold cache) per sample.
 * The page is server-rendered SVG, so "fully drawn" is: `load` fired, the SVG holds `expectedNodes` nodes,
 * and two frames have been produced since.
 */
export async function timeFirstRender(
  url: string,
  expectedNodes: number,
  repeats: number,
  log: (msg: string) => void,
): Promise<RenderTiming> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const samples: { total: number; nav: { responseEnd: number; dcl: number; load: number }; nodes: number }[] = [];
    for (let i = 0; i < repeats; i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(600_000);
      const t0 = Date.now();
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForFunction((n) => document.querySelectorAll('#graph .node').length >= n, expectedNodes, {
        polling: 50,
      });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const total = Date.now() - t0;
      const nav = await page.evaluate(() => {
        const e = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { responseEnd: e.responseEnd, dcl: e.domContentLoadedEventEnd, load: e.loadEventEnd };
      });
      const nodes = await page.locator('#graph .node').count();
      samples.push({ total, nav, nodes });
      log(`render ${i + 1}/${repeats}: ${total} ms (response end ${Math.round(nav.responseEnd)} ms)`);
      await context.close();
    }
    const m = median(samples.map((s) => s.total));
    const mid = samples.find((s) => s.total === m)!;
    return {
      median_ms: m,
      samples_ms: samples.map((s) => s.total),
      response_end_ms: Math.round(mid.nav.responseEnd),
      dom_content_loaded_ms: Math.round(mid.nav.dcl),
      load_event_ms: Math.round(mid.nav.load),
      nodes: mid.nodes,
    };
  } finally {
    await browser.close();
  }
}
