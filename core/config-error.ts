/**
 * Why the gateway cannot start: an invalid configuration, or a setting that does not work on
 * this machine. No SMTP condition (no reply code): `mailbag` prints the field and exits with
 * code 2. Kept apart from the SMTP replies (core/errors.ts, which re-exports these).
 */

/** `a[0].b` style path, as printed in every config (and stored record) error. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) =>
      typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key),
    "",
  );
}

/** One thing wrong with the configuration; `path` names the field, e.g. `postoffices[1].domain`. */
export interface ConfigIssue {
  readonly path: string;
  readonly reason: string;
}

/**
 * Invalid configuration. Not an SMTP condition: the process refuses to start (exit code 2).
 * Carries every issue found at once; `path` and `reason` are the first one's.
 */
export class ConfigError extends Error {
  readonly code = "config-invalid";
  readonly exitCode = 2;
  readonly issues: readonly ConfigIssue[];
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string);
  constructor(issues: readonly ConfigIssue[]);
  constructor(pathOrIssues: string | readonly ConfigIssue[], reason?: string) {
    const issues =
      typeof pathOrIssues === "string"
        ? [{ path: pathOrIssues, reason: reason ?? "invalid" }]
        : pathOrIssues.length > 0
          ? pathOrIssues
          : [{ path: "(root)", reason: "invalid configuration" }];
    const lines = issues.map((i) => `${i.path}: ${i.reason}`);
    super(lines.join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
    this.path = issues[0]?.path ?? "(root)";
    this.reason = lines.join("\n");
  }
}

/** Whether `err` is a ConfigError, from whichever bundle it was thrown. */
export function isConfigError(err: unknown): err is ConfigError {
  return (err as { code?: unknown } | null | undefined)?.code === "config-invalid";
}

/**
 * The gateway cannot start as configured (a certificate that does not load, a port in use, an
 * invalid value in the environment). `mailbag` prints one line naming `field` and exits with
 * code 2.
 */
export class StartupError extends Error {
  readonly field: string;
  constructor(field: string, reason: string, options?: ErrorOptions) {
    super(`${field}: ${reason}`, options);
    this.name = "StartupError";
    this.field = field;
  }
}
