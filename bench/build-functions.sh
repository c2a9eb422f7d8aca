#!/usr/bin/env bash
# Builds the Lambda bundles the way infra's NodejsFunction does (esbuild, ESM, minified, source
# maps) into dist/functions/, for the memory benchmark to load as Lambda would.
set -euo pipefail
cd "$(dirname "$0")/.."
for fn in router deliver; do
  npx esbuild "functions/$fn/index.ts" --bundle --platform=node --format=esm --target=node24 --minify \
    --sourcemap --outfile="dist/functions/$fn.mjs" --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
done
