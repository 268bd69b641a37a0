import { useState } from 'preact/hooks';

/** The link people open to donate compute, with a copy button. */
export function VolunteerCallout() {
  const url = new URL('/volunteer', location.href).href;
  const [copied, setCopied] = useState(false);
  const copy = () => {
    navigator.clipboard?.writeText(url).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => setCopied(false),
    );
  };
  return (
    <section class="callout" aria-labelledby="volunteer-callout-title" data-testid="volunteer-callout">
      <div>
        <h2 id="volunteer-callout-title">Donate compute</h2>
        <p>Open this link in another tab or on another computer; that browser then runs tasks for the grid.</p>
      </div>
      <div class="callout-link">
        <a href="/volunteer" target="_blank" rel="noopener" id="volunteer-link" data-testid="volunteer-link">
          {url}
        </a>
        <button type="button" class="button button-small button-light" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </section>
  );
}
