import type { JobMode } from '../job-body.ts';

const MODES: { value: JobMode; label: string; hint: string }[] = [
  { value: 'single', label: 'One task', hint: 'Run the program once with the arguments.' },
  { value: 'tasks', label: 'Independent tasks', hint: 'One task per line of arguments; they run in parallel.' },
  { value: 'ranks', label: 'Ranks', hint: 'One coupled computation whose ranks message each other.' },
];

interface Props {
  value: JobMode;
  onChange: (mode: JobMode) => void;
}

/** The three shapes of a job, as a segmented radio group. */
export function ModePicker({ value, onChange }: Props) {
  const hint = MODES.find((m) => m.value === value)?.hint;
  return (
    <fieldset class="field mode-field" data-testid="job-mode">
      <legend>Mode</legend>
      <div class="segmented">
        {MODES.map((mode) => (
          <label key={mode.value} class={value === mode.value ? 'is-checked' : ''}>
            <input
              type="radio"
              name="job-mode"
              id={`job-mode-${mode.value}`}
              value={mode.value}
              checked={value === mode.value}
              onChange={() => onChange(mode.value)}
            />
            {mode.label}
          </label>
        ))}
      </div>
      <p class="hint">{hint}</p>
    </fieldset>
  );
}
