import { useState } from 'preact/hooks';
import type { TaskOutput } from '../../../shared/http-api.ts';
import { formatBytes } from '../format.ts';
import { StateBadge } from './state-badge.tsx';

interface Props {
  output: TaskOutput;
  initiallyOpen: boolean;
}

function formatResult(result: unknown): string {
  try {
    return JSON.stringify(result, null, 2) ?? String(result);
  } catch {
    return String(result);
  }
}

function describeSize({ stdout, stderr }: TaskOutput): string {
  if (!stdout && !stderr) return 'no output yet';
  const parts = [`stdout ${formatBytes(new Blob([stdout]).size)}`];
  if (stderr) parts.push(`stderr ${formatBytes(new Blob([stderr]).size)}`);
  return parts.join(' · ');
}

/** One task's stdout, stderr, result and error, folded into a `<details>`. */
export function TaskOutputBlock({ output, initiallyOpen }: Props) {
  const [open, setOpen] = useState(initiallyOpen);
  const hasResult = output.result !== undefined;
  return (
    <details
      class="output"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid="task-output"
      data-task-index={output.index}
    >
      <summary>
        <span class="output-title">Task {output.index}</span>
        <StateBadge state={output.state} testId="task-output-state" />
        {output.exitCode !== undefined && <span class="sub">exit code {output.exitCode}</span>}
        <span class="sub">{describeSize(output)}</span>
      </summary>
      <div class="output-body">
        <h4>stdout</h4>
        <pre data-testid="task-stdout">{output.stdout}</pre>
        {output.stderr && (
          <>
            <h4>stderr</h4>
            <pre class="pre-stderr" data-testid="task-stderr">
              {output.stderr}
            </pre>
          </>
        )}
        {hasResult && (
          <>
            <h4>result</h4>
            <pre data-testid="task-result">{formatResult(output.result)}</pre>
          </>
        )}
        {output.error && (
          <>
            <h4>error</h4>
            <pre class="pre-error" data-testid="task-error">
              {output.error}
            </pre>
          </>
        )}
      </div>
    </details>
  );
}
