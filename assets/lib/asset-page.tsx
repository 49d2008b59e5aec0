/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The lakehouse's addition to the UI's asset pages (the framework's `assetPage` hooks): the Silver job's
// GPS track of the longest round as a small sketch, and the metrics the lakehouse's assets report first.
import { z } from 'zod';
import type { AssetPageHooks } from '../../framework/definitions/index.ts';

const TrackSchema = z.array(z.tuple([z.number().finite(), z.number().finite()])).min(2);
const EARTH_RADIUS_KM = 6371;
// The UI's colours (ui/static/ui.css): the sketch carries its own styles, so the UI's stylesheet knows no tracks.
const START = 'var(--fresh)';
const END = 'var(--failed)';
const marker = (fill: string) => `fill:${fill};stroke:#fff;stroke-width:1.5`;
const swatch = (fill: string, round: boolean) =>
  `display:inline-block;width:10px;height:10px;background:${fill};border-radius:${round ? '50%' : '2px'}`;

/** Length of a `[lon, lat]` path in km (haversine). */
function trackLengthKm(pts: [number, number][]): number {
  const rad = Math.PI / 180;
  let km = 0;
  for (let i = 1; i < pts.length; i++) {
    const [lon1, lat1] = pts[i - 1]!;
    const [lon2, lat2] = pts[i]!;
    const a =
      Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
    km += 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
  }
  return km;
}

/**
 * A `[lon, lat]` track as a small inline SVG (no map tiles): equirectangular with longitudes scaled by
 * cos(mid latitude), so a square on the ground is a square on screen; the box takes the track's aspect
 * ratio within `maxWidth` × `maxHeight`. Start and end are marked.
 */
export function TrackSketch(props: { value: unknown; maxWidth?: number; maxHeight?: number }) {
  const parsed = TrackSchema.safeParse(props.value);
  if (!parsed.success) return <p class="muted">track_preview is not a list of [lon, lat] points.</p>;
  const pts = parsed.data;
  const maxW = props.maxWidth ?? 360;
  const maxH = props.maxHeight ?? 240;
  const pad = 12;
  const lats = pts.map((p) => p[1]);
  const minLat = Math.min(...lats);
  const maxLat = Math.max(...lats);
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const xs = pts.map((p) => p[0] * k);
  const minX = Math.min(...xs);
  const spanX = Math.max(...xs) - minX;
  const spanY = maxLat - minLat;
  const span = Math.max(spanX, spanY, 1e-9);
  // A track that is a line (or a point) along one axis still gets a sensible box.
  const scale = Math.min((maxW - 2 * pad) / Math.max(spanX, span / 8), (maxH - 2 * pad) / Math.max(spanY, span / 8));
  const w = Math.round(spanX * scale + 2 * pad);
  const h = Math.round(spanY * scale + 2 * pad);
  const projected = pts.map((_, i): [number, number] => [
    pad + (xs[i]! - minX) * scale,
    h - pad - (lats[i]! - minLat) * scale,
  ]);
  const points = projected.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const [sx, sy] = projected[0]!;
  const [ex, ey] = projected.at(-1)!;
  const km = trackLengthKm(pts);
  return (
    <figure class="track" style="margin:0;display:inline-block">
      <svg
        class="track"
        viewBox={`0 0 ${w} ${h}`}
        width={w}
        height={h}
        role="img"
        aria-label={`GPS track preview: ${pts.length} points`}
        style="display:block;border:1px solid var(--line);border-radius:6px;background:#f6f9f4"
      >
        <polyline
          points={points}
          style="fill:none;stroke:var(--running);stroke-width:2;stroke-linejoin:round;stroke-linecap:round"
        />
        <circle class="start" cx={sx.toFixed(1)} cy={sy.toFixed(1)} r="5" style={marker(START)}>
          <title>start</title>
        </circle>
        <rect class="end" x={(ex - 4.5).toFixed(1)} y={(ey - 4.5).toFixed(1)} width="9" height="9" style={marker(END)}>
          <title>end</title>
        </rect>
      </svg>
      <figcaption class="muted">
        {`${pts.length} points · ${km < 10 ? km.toFixed(2) : km.toFixed(1)} km · `}
        <span style={swatch(START, true)} /> start <span style={swatch(END, false)} /> end
      </figcaption>
    </figure>
  );
}

/** The lakehouse's asset page sections (`assetPage.sections`, imported when a page is drawn: see assets/index.ts). */
export const lakehouseSections: NonNullable<AssetPageHooks['sections']> = ({ partitionKey, metadata }) => {
  const track = metadata.track_preview;
  if (track?.type !== 'json') return [];
  const caption = (
    <p class="muted small">{`Longest round of the latest materialization${partitionKey ? ` [${partitionKey}]` : ''}.`}</p>
  );
  return [{ title: 'Track preview', html: `${caption}${<TrackSketch value={track.value} />}` }];
};
