import { useEffect, useState } from 'preact/hooks';
import type { ProgramInfo } from '../../../shared/http-api.ts';
import { errorMessage, listPrograms, uploadProgram } from '../api.ts';
import { formatBytes } from '../format.ts';
import { useLiveResource } from '../hooks/use-live-resource.ts';

interface Props {
  /** The chosen program's id. */
  value: string;
  onChange: (id: string) => void;
  /** Reports an upload failure (or null when one succeeds) for the form's error box. */
  onError: (message: string | null) => void;
}

const never = () => false;

function optionLabel(program: ProgramInfo): string {
  return `${program.name} (${program.format}, ${formatBytes(program.size)})`;
}

function describe(program: ProgramInfo | undefined): string {
  if (!program) return 'A WASI command (.wasm) or a JS module exporting init/step (.js).';
  if (program.builtin) return 'Built-in example.';
  return `Uploaded program, SHA-256 ${program.id.slice(0, 12)}…`;
}

/** Pick a built-in or uploaded program, or upload a new `.wasm` / `.js` file. */
export function ProgramPicker({ value, onChange, onError }: Props) {
  const programs = useLiveResource('programs', listPrograms, never);
  const [uploaded, setUploaded] = useState<ProgramInfo[]>([]);
  const [uploading, setUploading] = useState<string | null>(null);

  const listed = programs.data ?? [];
  const all = [...listed, ...uploaded.filter((u) => !listed.some((p) => p.id === u.id))];
  const builtins = all.filter((p) => p.builtin);
  const others = all.filter((p) => !p.builtin);
  const chosen = all.find((p) => p.id === value);

  useEffect(() => {
    const first = all[0];
    if (!value && first) onChange(first.id);
  }, [value, all.length]);

  const upload = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setUploading(file.name);
    try {
      const program = await uploadProgram(file);
      setUploaded((list) => [...list.filter((p) => p.id !== program.id), { ...program, builtin: false }]);
      onChange(program.id);
      onError(null);
      programs.reload();
    } catch (error) {
      onError(`Upload of ${file.name} failed: ${errorMessage(error)}`);
    } finally {
      setUploading(null);
      input.value = '';
    }
  };

  return (
    <div class="field program-field">
      <label for="job-program">Program</label>
      <div class="program-row">
        <select
          id="job-program"
          data-testid="program-select"
          value={value}
          onChange={(e) => onChange(e.currentTarget.value)}
          disabled={all.length === 0}
        >
          {all.length === 0 && <option value="">{programs.error ? 'Programs unavailable' : 'Loading…'}</option>}
          {builtins.length > 0 && (
            <optgroup label="Examples">
              {builtins.map((p) => (
                <option key={p.id} value={p.id}>
                  {optionLabel(p)}
                </option>
              ))}
            </optgroup>
          )}
          {others.length > 0 && (
            <optgroup label="Uploaded">
              {others.map((p) => (
                <option key={p.id} value={p.id}>
                  {optionLabel(p)}
                </option>
              ))}
            </optgroup>
          )}
        </select>
        <span class="or">or</span>
        <label class={`button button-secondary file-button${uploading ? ' is-busy' : ''}`}>
          {uploading ? 'Uploading…' : 'Upload .wasm / .js'}
          <input
            id="job-program-file"
            data-testid="program-upload"
            type="file"
            accept=".wasm,.js,.mjs,application/wasm,text/javascript"
            class="visually-hidden"
            onChange={(e) => void upload(e)}
            disabled={uploading !== null}
          />
        </label>
      </div>
      <p class="hint" data-testid="program-description">
        {uploading
          ? `Uploading ${uploading}…`
          : (chosen?.description ?? describe(chosen))}
      </p>
    </div>
  );
}
