/**
 * What a task's checkpoint chart plots and how (uPlot options): checkpoint size
 * on the left axis, how long the program stood still on the right, over time,
 * and a dashed line at the newest checkpoint the coordinator holds.
 */
import type uPlot from 'uplot';
import type { LocalCheckpoint } from '../../shared/http-api.ts';
import { formatBytes } from './format.ts';

/** The chart's height in CSS pixels (plot and axes, without the legend): compact, it sits in a table row. */
export const CHART_HEIGHT = 150;

/** Where the "uploaded" line goes; mutable because uPlot keeps the options it was built with. */
export interface UploadMarker {
  /** The x value (seconds since the epoch) of the newest uploaded checkpoint, or null when none is. */
  at: number | null;
  seq: number | null;
}

/** Series in uPlot's column layout: times (seconds, uPlot's time unit), bytes, stop ms. */
export function chartData(checkpoints: readonly LocalCheckpoint[]): uPlot.AlignedData {
  return [
    checkpoints.map((c) => Date.parse(c.at) / 1000),
    checkpoints.map((c) => c.bytes),
    checkpoints.map((c) => c.stopMs),
  ];
}

/**
 * The time of checkpoint `seq` as the chart plots it: the volunteer's commit
 * time when it is among the local points (so the line meets its point), else
 * when the coordinator stored it.
 */
export function markerFor(checkpoints: readonly LocalCheckpoint[], last: { seq: number; at: string } | undefined): UploadMarker {
  if (!last) return { at: null, seq: null };
  const local = checkpoints.find((c) => c.seq === last.seq);
  return { at: Date.parse(local?.at ?? last.at) / 1000, seq: last.seq };
}

interface Palette {
  bytes: string;
  stop: string;
  marker: string;
  text: string;
  grid: string;
}

/** The stylesheet's colours (light or dark scheme), since a canvas cannot use CSS variables. */
function palette(from: Element): Palette {
  const style = getComputedStyle(from);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    bytes: read('--primary', '#4f46e5'),
    stop: read('--preempted-bar', '#f59e0b'),
    marker: read('--completed-bar', '#22c55e'),
    text: read('--muted', '#667085'),
    grid: read('--border', '#e3e6ec'),
  };
}

/** Draws the dashed "uploaded" line over the plot, after the series. */
function drawMarker(marker: UploadMarker, color: string) {
  return (u: uPlot) => {
    if (marker.at === null) return;
    const x = Math.round(u.valToPos(marker.at, 'x', true));
    const { top, height, left, width } = u.bbox;
    if (x < left - 1 || x > left + width + 1) return;
    const ctx = u.ctx;
    const px = devicePixelRatio;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.5 * px;
    ctx.setLineDash([4 * px, 3 * px]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    // The label sits in the padding above the plot (LABEL_ROOM), where no series is drawn.
    ctx.font = `${11 * px}px system-ui, sans-serif`;
    ctx.textAlign = x > left + width / 2 ? 'right' : 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(` uploaded #${marker.seq} `, x, top - 2 * px);
    ctx.restore();
  };
}

const axisFont = '11px system-ui, sans-serif';
/** CSS pixels above the plot for the marker's label. */
const LABEL_ROOM = 16;

/** uPlot options for one task's chart, `width` CSS pixels wide; colours from `themed`'s stylesheet. */
export function chartOptions(width: number, marker: UploadMarker, themed: Element): uPlot.Options {
  const colors = palette(themed);
  const axis = { stroke: colors.text, font: axisFont, labelFont: axisFont, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 } };
  return {
    width,
    height: CHART_HEIGHT,
    padding: [LABEL_ROOM, null, 0, null],
    // Zooming a dozen points helps nobody and would fight the live updates.
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      x: { time: true },
      // Sizes from zero, so a flat line of equal checkpoints does not look like noise.
      bytes: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      ms: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
    },
    series: [
      { label: 'Time' },
      {
        label: 'Size',
        scale: 'bytes',
        stroke: colors.bytes,
        width: 2,
        points: { show: true, size: 5 },
        value: (_u, v) => (v === null ? '—' : formatBytes(v)),
      },
      {
        label: 'Stop',
        scale: 'ms',
        stroke: colors.stop,
        width: 1.5,
        dash: [5, 3],
        points: { show: true, size: 5 },
        value: (_u, v) => (v === null ? '—' : `${v.toFixed(2)} ms`),
      },
    ],
    axes: [
      { ...axis, grid: { show: false } },
      { ...axis, scale: 'bytes', size: 64, values: (_u, splits) => splits.map((v) => formatBytes(v)) },
      { ...axis, scale: 'ms', side: 1, size: 56, grid: { show: false }, values: (_u, splits) => splits.map((v) => `${+v.toPrecision(3)} ms`) },
    ],
    hooks: { draw: [drawMarker(marker, colors.marker)] },
  };
}
