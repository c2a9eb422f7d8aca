/**
 * One JSON object per line on stderr: what CloudWatch Logs ingests as structured events and
 * what `mailbag start` prints locally. Set MAILBAG_LOG=silent to mute (tests), =debug for more.
 */
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

function threshold(): number {
  const wanted = (process.env.MAILBAG_LOG ?? "info") as Level | "silent";
  return ORDER[wanted] ?? ORDER.info;
}

function emit(level: Level, event: string, fields: Record<string, unknown>): void {
  if (ORDER[level] < threshold()) return;
  process.stderr.write(
    `${JSON.stringify({ t: new Date().toISOString(), level, event, ...fields })}\n`,
  );
}

export const log = {
  debug: (event: string, fields: Record<string, unknown> = {}) => emit("debug", event, fields),
  info: (event: string, fields: Record<string, unknown> = {}) => emit("info", event, fields),
  warn: (event: string, fields: Record<string, unknown> = {}) => emit("warn", event, fields),
  error: (event: string, fields: Record<string, unknown> = {}) => emit("error", event, fields),
};

/** The parts of an error worth a log line, without its stack. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  const code =
    (err as { responseCode?: unknown; code?: unknown }).responseCode ??
    (err as { code?: unknown }).code;
  return { error: err.message, name: err.name, ...(code !== undefined ? { code } : {}) };
}
