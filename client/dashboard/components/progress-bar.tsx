import { formatPercent } from '../format.ts';

interface Props {
  /** 0 to 1. */
  value: number;
  /** What the bar measures, for screen readers. */
  label: string;
  /** Colours the bar like a state badge (`.progress-STATE`). */
  state?: string;
  large?: boolean;
}

export function ProgressBar({ value, label, state, large = false }: Props) {
  const percent = formatPercent(value);
  const classes = ['progress', large ? 'progress-large' : '', state ? `progress-${state}` : ''].filter(Boolean);
  return (
    <div class="progress-cell">
      <div
        class={classes.join(' ')}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={parseInt(percent, 10)}
        data-testid="progress"
        data-progress={value}
      >
        <div class="progress-fill" style={{ width: percent }} />
      </div>
      <span class="progress-text">{percent}</span>
    </div>
  );
}
