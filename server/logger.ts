/**
 * A namespaced logger. `GRID_LOG=debug` shows debug lines; `GRID_LOG=silent`
 * hides everything but errors (tests use it).
 */
const LEVELS = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const wanted = (process.env.GRID_LOG ?? 'info') as Level;
  return Math.min(LEVELS[wanted] ?? LEVELS.info, LEVELS.error);
}

export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export function logger(namespace: string): Logger {
  const emit = (level: Level, message: string, details: unknown[]) => {
    if (LEVELS[level] < threshold()) return;
    const line = `${new Date().toISOString()} ${level.padEnd(5)} [${namespace}] ${message}`;
    (level === 'error' || level === 'warn' ? console.error : console.log)(line, ...details);
  };
  return {
    debug: (m, ...d) => emit('debug', m, d),
    info: (m, ...d) => emit('info', m, d),
    warn: (m, ...d) => emit('warn', m, d),
    error: (m, ...d) => emit('error', m, d),
  };
}
