import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Line {
  label: string;
  values: (number | null)[];
  /** Points only (markers), no line. */
  markers?: boolean;
}

/** Values hold until they change: the histories record changes only. */
const stepped = uPlot.paths.stepped?.({ align: 1 });

const COLORS = ['#2f6fde', '#d9822b', '#1f9d55', '#b83280', '#6b46c1'];

/**
 * A time-series chart (uPlot): `times` in ms, one line per series, markers drawn as points only.
 * Its data counts sit in data attributes for tests and for screen readers' sake the caller also
 * lists what the markers mean.
 */
export function Chart({
  title,
  times,
  lines,
  height = 180,
}: {
  title: string;
  times: number[];
  lines: Line[];
  height?: number;
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const target = el.current;
    if (!target || times.length === 0) return;
    const width = Math.max(320, Math.min(900, target.clientWidth || 640));
    const plot = new uPlot(
      {
        width,
        height,
        scales: { x: { time: true } },
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }],
        legend: { show: true },
        series: [
          {},
          ...lines.map((l, i) => ({
            label: l.label,
            stroke: COLORS[i % COLORS.length] as string,
            width: 2,
            spanGaps: !l.markers,
            ...(!l.markers && stepped ? { paths: stepped } : {}),
            ...(l.markers
              ? {
                  paths: () => null,
                  points: { show: true, size: 10, fill: COLORS[i % COLORS.length] as string },
                }
              : {}),
          })),
        ],
      },
      // The last values hold until now.
      [
        [...times, Date.now()].map((t) => t / 1000),
        ...lines.map((l) => [...l.values, l.markers ? null : (l.values.at(-1) ?? null)]),
      ] as uPlot.AlignedData,
      target,
    );
    return () => plot.destroy();
  }, [times, lines, height]);
  const markers = lines
    .filter((l) => l.markers)
    .reduce((n, l) => n + l.values.filter((v) => v !== null).length, 0);
  return (
    <figure class="chart" data-points={times.length} data-markers={markers}>
      <figcaption>{title}</figcaption>
      <div ref={el} role="img" aria-label={`${title}: ${times.length} points`} />
    </figure>
  );
}
