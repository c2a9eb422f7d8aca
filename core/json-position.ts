/**
 * Where a JSON text first goes wrong, as line and column: V8's JSON.parse says what is wrong
 * but, for most errors, not where ("Unexpected token ','"). A scanner of the RFC 8259 grammar
 * that stops at the first offending character (https://www.rfc-editor.org/rfc/rfc8259).
 */
import { ConfigError } from "./config-error.ts";

export interface JsonPosition {
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
}

/** The position of the first syntax error in `text`, or undefined when it is valid JSON. */
export function jsonErrorPosition(text: string): JsonPosition | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text.charAt(i))) i++;
  };
  const literal = (word: string) => {
    for (const c of word) {
      if (text.charAt(i) !== c) fail();
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const c = text.charAt(i);
      if (c === '"') return void i++;
      if (c < " ") fail();
      if (c === "\\") {
        i++;
        const e = text.charAt(i);
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (/[0-9a-fA-F]/.test(text.charAt(i + k))) continue;
            i += k;
            fail();
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e) || e === "") fail();
      }
      i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === "" || m[0] === "-") fail();
    i += m?.[0].length ?? 0;
  };
  /** `{...}` or `[...]`, from its opening character: members, separated by commas, to `close`. */
  const container = (close: string, member: () => void): void => {
    i++;
    ws();
    if (text.charAt(i) === close) return void i++;
    for (;;) {
      ws();
      member();
      ws();
      if (text.charAt(i) === ",") i++;
      else if (text.charAt(i) === close) return void i++;
      else fail();
    }
  };
  const property = () => {
    if (text.charAt(i) !== '"') fail();
    string();
    ws();
    if (text.charAt(i) !== ":") fail();
    i++;
    value();
  };
  const value = (): void => {
    ws();
    const c = text.charAt(i);
    if (c === "{") container("}", property);
    else if (c === "[") container("]", value);
    else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c >= "0" && c <= "9")) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (at) {
    if (typeof at !== "number") throw at;
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - (before.lastIndexOf("\n") + 1) + 1;
    return { offset: at, line, column };
  }
}

/** A config text that is not JSON: the parser's complaint with its line and column. */
export function jsonSyntaxError(where: string, text: string, err: unknown): ConfigError {
  const at = jsonErrorPosition(text);
  if (!at) return new ConfigError(where, `not valid JSON: ${(err as Error).message}`);
  const found = at.offset < text.length ? JSON.stringify(text.charAt(at.offset)) : "end of file";
  return new ConfigError(
    where,
    `not valid JSON at line ${at.line}, column ${at.column}: unexpected ${found}`,
  );
}
