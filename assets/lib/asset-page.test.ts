import { describe, expect, it } from 'vitest';
import { md } from '../../framework/definitions/index.ts';
import { lakehouseSections, TrackSketch } from './asset-page.tsx';

describe('the lakehouse on the asset page', () => {
  it('sketches a track aspect-correct (cos(lat) on longitudes) with start and end markers', () => {
    // 0.02° of longitude at 60°N is as long on the ground as 0.01° of latitude: the box must be square.
    const svg = String(
      TrackSketch({
        value: [
          [10.0, 60.0],
          [10.02, 60.0],
          [10.02, 60.01],
        ],
      }),
    );
    const [, w, h] = /viewBox="0 0 (\d+) (\d+)"/.exec(svg)!.map(Number);
    expect(Math.abs(w! - h!)).toBeLessThanOrEqual(1);
    expect(svg).toContain('class="start"');
    expect(svg).toContain('class="end"');
    expect(svg).toContain('3 points');
    expect(String(TrackSketch({ value: [[1, 2]] }))).toContain('not a list of [lon, lat] points');
  });

  it('adds a Track preview section when the latest materialization has a track', async () => {
    const sections = lakehouseSections;
    const track = md.json([
      [-88.0, 43.1],
      [-88.01, 43.11],
    ]);
    const [section, ...rest] = await sections({
      assetKey: 'silver.fact_rounds',
      partitionKey: 'course_id=c1,date=2024-05-01',
      metadata: { track_preview: track, row_count: md.rowCount(3) },
    });
    expect(rest).toEqual([]);
    expect(section!.title).toBe('Track preview');
    expect(section!.html).toContain('Longest round of the latest materialization [course_id=c1,date=2024-05-01].');
    expect(section!.html).toContain('aria-label="GPS track preview: 2 points"');
    expect(await sections({ assetKey: 'gold.x', partitionKey: '', metadata: { row_count: md.rowCount(3) } })).toEqual(
      [],
    );
  });
});
