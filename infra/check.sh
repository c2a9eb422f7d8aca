#!/usr/bin/env bash
# CI check of the infrastructure: synthesize every example layout (cdk-nag's AwsSolutions pack
# runs inside synth and fails it on any unacknowledged finding), list the stacks of each, run
# cfn-lint on every synthesized template, and print the cdk-nag result with each acknowledgment's
# reason. Exits non-zero on any finding. Offline apart from PyPI (cfn-lint) and, when the
# installed CDK CLI cannot read this aws-cdk-lib's cloud assembly, npm (a pinned CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

LAYOUTS=(single multiple dedicated multiple-dedicated)
OUT=cdk.out

# aws-cdk-lib 2.276 writes cloud assembly schema 55; CLI 3.0.0 reads up to 43, 2.1148.1 reads 55.
CDK_CLI_PIN=2.1148.1
if [[ -n "${MAILBAG_CDK:-}" ]]; then
  read -r -a CDK <<<"$MAILBAG_CDK"
elif [[ "$(cdk --version 2>/dev/null)" =~ ^2\.(1148\.[1-9]|1149|11[5-9][0-9]|1[2-9][0-9]{2}) ]]; then
  CDK=(cdk)
else
  CDK=(npx --yes "aws-cdk@$CDK_CLI_PIN")
fi
echo "== CDK CLI: ${CDK[*]} ($("${CDK[@]}" --version 2>/dev/null))"

failed=0
templates=()
for layout in "${LAYOUTS[@]}"; do
  dir="$OUT/$layout"
  rm -rf "$dir"
  echo "== cdk synth -c config=examples/$layout.json"
  if ! "${CDK[@]}" synth --quiet -c "config=examples/$layout.json" -o "$dir" >"$OUT.$layout.log" 2>&1; then
    cat "$OUT.$layout.log"
    echo "FAIL: synth of $layout (cdk-nag findings are reported above)"
    failed=1
    continue
  fi
  "${CDK[@]}" ls --app "$dir" | sed 's/^/   stack: /'
  templates+=("$dir"/*.template.json)
done
rm -f "$OUT".*.log

echo "== cfn-lint"
if command -v cfn-lint >/dev/null 2>&1; then
  CFN_LINT=(cfn-lint)
else
  venv=.venv-cfn-lint
  if [[ ! -x "$venv/bin/cfn-lint" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
  fi
  CFN_LINT=("$venv/bin/cfn-lint")
fi
echo "   $("${CFN_LINT[@]}" --version) on ${#templates[@]} templates"
# W3005 (a DependsOn already implied by a Ref/GetAtt) is how aws-cdk-lib orders a function after
# its role policy; redundant, harmless, and not ours to remove. Everything else fails the check.
if ((${#templates[@]})) && "${CFN_LINT[@]}" --ignore-checks W3005 -- "${templates[@]}"; then
  echo "   cfn-lint: clean"
else
  echo "FAIL: cfn-lint"
  failed=1
fi

echo "== cdk-nag (AwsSolutions)"
configs=(); for layout in "${LAYOUTS[@]}"; do configs+=("examples/$layout.json"); done
if ! node infra/nag-report.ts "${configs[@]}"; then
  failed=1
fi
exit "$failed"
