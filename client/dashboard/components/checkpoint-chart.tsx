import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
// esbuild writes it beside the bundle (public/build/dashboard.css), which index.html links.
import 'uplot/dist/uPlot.min.css';
import type { TaskView } from '../../../shared/http-api.ts';
import { chartData, chartOptions, markerFor, type UploadMarker } from '../checkpoint-chart-options.ts';

/** The widest the chart grows, in CSS pixels: a dozen points need no more. */
const MAX_WIDTH = 560;
const FALLBACK_WIDTH = 360;

function widthOf(box: HTMLElement): number {
  return Math.min(MAX_WIDTH, box.clientWidth || FALLBACK_WIDTH);
}

/**
 * A task's checkpoints over time, drawn by uPlot: size (left axis) and stop
 * time (right axis), with a line at the newest one the coordinator holds.
 * The plot is built once and fed new data as the job page reloads.
 */
export function CheckpointChart({ task }: { task: TaskView }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // uPlot's draw hook reads this object, so updating it in place moves the line.
  const marker = useRef<UploadMarker>({ at: null, seq: null });
  const points = task.localCheckpoints;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = new uPlot(chartOptions(widthOf(el), marker.current, el), undefined, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = widthOf(el);
      if (width !== chart.width) chart.setSize({ width, height: chart.height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    Object.assign(marker.current, markerFor(points, task.lastCheckpoint));
    plot.current?.setData(chartData(points));
  }, [points, task.lastCheckpoint]);

  return <div class="checkpoint-chart" ref={box} data-testid="task-checkpoint-chart" data-points={points.length} />;
}
