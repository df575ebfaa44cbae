#!/usr/bin/env bash
# The infrastructure check of each golden case and example, one case at a time as its own
# test: the CDK app synthesized (prebuilt-asset path, OUTBOX_RELAY_ASSET, with the example's
# arm64 bootstrap standing in for theirs: the templates do not depend on it), both stacks
# through every validator and compared. Two cases run side by side; each is reported by name
# (`ok` or `FAILED` with its log) and the stage fails if any did.
#
#   bash .ci/infra/cases.sh                 every case
#   bash .ci/infra/cases.sh ok-targets ...  only these (a directory name or examples/<name>)
set -euo pipefail
cd "$(dirname "$0")/../.."

check_cloudformation() {
    # A CloudFormation template through every validator; cfn-lint fails on warnings too.
    local template=$1
    cfn-lint -a cfn_lint_serverless.rules -- "$template"
    python .ci/sam/validate.py "$template" | grep -v '\[INFO\]'
    checkov --skip-download --quiet --compact --framework cloudformation -f "$template"
}

synth_cdk() {
    # Compiles and synthesizes a generated CDK app (offline, no credentials) into $2/cdk.out.
    local app=$1 out=$PWD/$2
    rm -rf "$out/cdk.out"
    mkdir -p "$out"
    (cd "$app" && npx tsc && npx cdk synth --no-notices --quiet -o "$out/cdk.out" > /dev/null)
}

check_stacks() {
    # Both stacks of one generated output: the SAM template (serverless rules on the source,
    # translated offline as `sam deploy` would, then every validator), the CDK app (synthesized,
    # then every validator), and the two compared resource by resource.
    local generated=$1 out=$2
    mkdir -p "$out"
    cfn-lint -a cfn_lint_serverless.rules -- "$generated/sam/template.yaml"
    python .ci/sam/translate.py "$generated/sam/template.yaml" "$out/sam.json"
    check_cloudformation "$out/sam.json"
    local stack
    stack=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["stackName"])' "$generated/cdk/outbox.json")
    check_cloudformation "$out/cdk.out/$stack.template.json"
    python .ci/infra/compare.py "$out/sam.json" "$out/cdk.out/$stack.template.json"
}

check_case() {
    # One case: its CDK app copied outside the source tree (with the example's node_modules:
    # every generated app has the same package.json and lock), synthesized, both stacks checked.
    # The example's own app synthesizes where it stands, building its relay with cargo-lambda
    # as a user's does.
    local generated=$1 out=$2
    if [[ $generated == generated ]]; then
        synth_cdk generated/cdk "$out"
        check_stacks generated "$out"
        return
    fi
    rm -rf "$out/app"
    mkdir -p "$out/app"
    cp -r "$generated/cdk"/. "$out/app"
    ln -s "$PWD/generated/cdk/node_modules" "$out/app/node_modules"
    OUTBOX_RELAY_ASSET=$PWD/target/lambda/relay synth_cdk "$out/app" "$out"
    check_stacks "$generated" "$out"
}

# `example` is this repository's own generated/; the rest are the golden cases and examples.
cases=()
for generated in generated generator/tests/cases/ok-*/expected examples/*/generated; do
    dir=$(dirname "$generated")
    name=$(basename "$dir")
    [[ $dir == examples/* ]] && name=examples/$name
    [[ $generated == generated ]] && name=example
    if (( $# == 0 )) || printf '%s\n' "$@" | grep -qxF "$name"; then
        cases+=("$name=$generated")
    fi
done
(( ${#cases[@]} )) || { echo "no case named $*"; exit 2; }

export -f check_cloudformation synth_cdk check_stacks check_case
mkdir -p target/infra-check
run_one() {
    local name=${1%%=*} generated=${1#*=}
    local out=target/infra-check/${name#examples/} start=$SECONDS
    mkdir -p "$out"
    if check_case "$generated" "$out" > "$out/log.txt" 2>&1; then
        echo "test $name ... ok ($((SECONDS - start)) s)"
    else
        echo "test $name ... FAILED"
        sed 's/^/    /' "$out/log.txt"
        return 1
    fi
}
export -f run_one
failed=0
printf '%s\n' "${cases[@]}" | xargs -P 2 -I{} bash -c 'run_one "$1"' _ {} || failed=1
echo "${#cases[@]} infrastructure case(s) checked$( ((failed)) && echo ', some FAILED')"
exit "$failed"
