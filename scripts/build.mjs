// Bundles with esbuild (plain JS: no TypeScript at run time, so no type-stripping cost):
//   node scripts/build.mjs            the CLI → dist/mailbag.js (the ingress container runs it)
//   node scripts/build.mjs functions  the Lambda handlers → dist/functions/*.mjs, built as
//                                     infra's NodejsFunction builds them (for the memory bench)
import { build } from "esbuild";

// CommonJS dependencies (smtp-server, nodemailer) call require(): give ESM output one.
const banner = {
  js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
};
const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // MAILBAG_NO_MINIFY=1 keeps names, for reading a --cpu-prof profile (docs/benchmarks.md).
  minify: !process.env.MAILBAG_NO_MINIFY,
  sourcemap: true,
  banner,
  logLevel: "warning",
};

if (process.argv[2] === "functions") {
  for (const fn of ["router", "deliver"]) {
    await build({
      ...common,
      entryPoints: [`functions/${fn}/index.ts`],
      outfile: `dist/functions/${fn}.mjs`,
    });
  }
} else {
  // The emulator (fastify, SQLite) stays an external, loaded only by `mailbag emulator`/`start`.
  await build({
    ...common,
    entryPoints: ["cli/mailbag.ts"],
    outdir: "dist",
    splitting: true,
    external: ["fauxqs"],
  });
}
