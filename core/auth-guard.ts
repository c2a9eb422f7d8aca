/**
 * SMTP AUTH that resists guessing (RFC 4954 §4 leaves the policy to the server): failures are
 * counted per client address and per user name; each failure makes the client's next attempt
 * wait longer (doubling, capped), and enough of them lock the client out for a while (454,
 * sessionRejection.authenticationLockedOut).
 * A user name under attack from many addresses is locked for every address that has failed
 * before, never for a clean one: the right password from another client still gets 235 at once,
 * so guessing cannot lock the real user out.
 *
 * Pure: the clock is an argument. State is bounded (the oldest records are dropped first).
 */

export interface AuthGuardSettings {
  /** Failures from one address before it is locked out. */
  readonly maxFailuresPerClient: number;
  /** Failures for one user name (from any address) before it is locked for failing addresses. */
  readonly maxFailuresPerUser: number;
  /** How long a lockout lasts; failures older than this (since the last one) are forgotten. */
  readonly lockoutSeconds: number;
  /** Delay before answering the attempt after the first failure; doubles with each failure. */
  readonly failureDelayMs: number;
  readonly maxDelayMs: number;
}

export type Admission =
  | { readonly locked: false; readonly delayMs: number }
  | { readonly locked: true; readonly retryAfterSeconds: number; readonly by: "client" | "user" };

interface Tally {
  failures: number;
  last: number;
  lockedUntil: number;
}

const MAX_RECORDS = 10_000;

export class AuthGuard {
  private readonly tallies = new Map<string, Tally>();
  private readonly settings: AuthGuardSettings;
  private readonly now: () => number;

  constructor(settings: AuthGuardSettings, now: () => number = Date.now) {
    this.settings = settings;
    this.now = now;
  }

  /** Before the password is checked: refuse now, or answer after `delayMs`. */
  admit(client: string, user: string): Admission {
    const t = this.now();
    const c = this.tally(`client:${client}`, t);
    const u = this.tally(`user:${user}`, t);
    if (c && c.lockedUntil > t) return this.locked(c, t, "client");
    // A clean address is never held back by failures others caused (see the file comment).
    if (!c || c.failures === 0) return { locked: false, delayMs: 0 };
    if (u && u.lockedUntil > t) return this.locked(u, t, "user");
    const failures = Math.max(c.failures, u?.failures ?? 0);
    const delay = this.settings.failureDelayMs * 2 ** Math.min(failures - 1, 30);
    return { locked: false, delayMs: Math.min(delay, this.settings.maxDelayMs) };
  }

  /** A wrong password: counts it; says whether it started a lockout. */
  failed(
    client: string,
    user: string,
  ): { clientFailures: number; userFailures: number; lockout: "client" | "user" | undefined } {
    const t = this.now();
    const c = this.bump(`client:${client}`, t);
    const u = this.bump(`user:${user}`, t);
    const until = t + this.settings.lockoutSeconds * 1000;
    let lockout: "client" | "user" | undefined;
    if (u.failures >= this.settings.maxFailuresPerUser && u.lockedUntil <= t) {
      u.lockedUntil = until;
      lockout = "user";
    }
    if (c.failures >= this.settings.maxFailuresPerClient && c.lockedUntil <= t) {
      c.lockedUntil = until;
      lockout = "client";
    }
    return { clientFailures: c.failures, userFailures: u.failures, lockout };
  }

  /** The right password: the client's record is cleared (the user's stays until it expires). */
  succeeded(client: string): void {
    this.tallies.delete(`client:${client}`);
  }

  private locked(tally: Tally, t: number, by: "client" | "user"): Admission {
    return { locked: true, retryAfterSeconds: Math.ceil((tally.lockedUntil - t) / 1000), by };
  }

  private tally(key: string, t: number): Tally | undefined {
    const tally = this.tallies.get(key);
    if (!tally) return undefined;
    const forget = this.settings.lockoutSeconds * 1000;
    if (tally.lockedUntil <= t && t - tally.last > forget) {
      this.tallies.delete(key);
      return undefined;
    }
    return tally;
  }

  private bump(key: string, t: number): Tally {
    const tally = this.tally(key, t) ?? { failures: 0, last: t, lockedUntil: 0 };
    // After a lockout ran out the count starts again.
    if (tally.lockedUntil !== 0 && tally.lockedUntil <= t) {
      tally.failures = 0;
      tally.lockedUntil = 0;
    }
    tally.failures++;
    tally.last = t;
    this.tallies.delete(key);
    this.tallies.set(key, tally);
    if (this.tallies.size > MAX_RECORDS) {
      const oldest = this.tallies.keys().next().value;
      if (oldest !== undefined) this.tallies.delete(oldest);
    }
    return tally;
  }
}
