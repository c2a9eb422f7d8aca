/** The config file as `mailbag` writes it back after an edit (cli/config-io.ts). */

/**
 * JSON as people write it: an object or array stays on one line when it fits in `width`
 * columns, otherwise one member per line, two-space indent (the repository's style).
 */
export function formatJson(value: unknown, width = 100): string {
  return `${format(value, 0, 0, width)}\n`;
}

function flat(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flat).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${flat(x)}`).join(", ")} }`;
  }
  return JSON.stringify(v);
}

function format(v: unknown, indent: number, used: number, width: number): string {
  const one = flat(v);
  if (indent + used + one.length + 1 <= width || v === null || typeof v !== "object") return one;
  const pad = " ".repeat(indent + 2);
  const items = Array.isArray(v)
    ? v.map((x) => pad + format(x, indent + 2, 0, width))
    : Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => {
          const key = `${JSON.stringify(k)}: `;
          return pad + key + format(x, indent + 2, key.length, width);
        });
  const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
  return items.length === 0
    ? `${open}${close}`
    : `${open}\n${items.join(",\n")}\n${" ".repeat(indent)}${close}`;
}
