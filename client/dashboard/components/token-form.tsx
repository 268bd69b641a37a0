import { useState } from 'preact/hooks';
import { saveToken } from '../token.ts';

interface Props {
  /** Why the form is shown (no token yet, or the last one was refused). */
  problem: string | null;
  /** `saved` is false when the user closed the form without a token. */
  onClose: (saved: boolean) => void;
}

/** Asks for the coordinator's token, which `npm start` prints. */
export function TokenForm({ problem, onClose }: Props) {
  const [value, setValue] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    if (!value.trim()) return;
    saveToken(value);
    setValue('');
    onClose(true);
  };
  return (
    <form class="card token-card" onSubmit={submit} data-testid="token-form">
      <div class="token-text">
        <h2>Access token</h2>
        <p>
          {problem ?? 'Posting and controlling jobs needs the coordinator’s token.'} It is printed by{' '}
          <code>npm start</code> (the dashboard link includes it) and saved in the data folder.
        </p>
      </div>
      <div class="token-row">
        <label class="visually-hidden" for="token-input">
          Token
        </label>
        <input
          id="token-input"
          type="password"
          autoComplete="off"
          placeholder="Paste the token"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit" class="button" id="token-submit" disabled={!value.trim()}>
          Save
        </button>
        <button type="button" class="button button-ghost" onClick={() => onClose(false)} data-testid="token-cancel">
          Not now
        </button>
      </div>
    </form>
  );
}
