#!/usr/bin/env bash
# The one test command (README "Testing"). Installs what the tests need (idempotent: a second
# run reuses .venv and the Rust targets), then runs formatting, lints on every crate (generated
# code included), every test, the committed generated/ being current, and the arm64 Lambda
# build. Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
total_start=$SECONDS
stage() {
    local name=$1
    shift
    local start=$SECONDS
    echo "==> $name: $*"
    "$@"
    echo "<== $name took $((SECONDS - start)) s"
}

python_tools() {
    local stamp=.venv/.requirements.sha256
    local want
    want=$(sha256sum .ci/requirements.txt | cut -d' ' -f1)
    if [[ ! -x .venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
        echo "$want" > "$stamp"
    fi
    .venv/bin/cargo-lambda lambda --help > /dev/null
}

node_tools() {
    local stamp=.ci/asyncapi/node_modules/.lock.sha256
    local want
    want=$(sha256sum .ci/asyncapi/package-lock.json | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        npm ci --prefix .ci/asyncapi --no-audit --no-fund --loglevel=error
        echo "$want" > "$stamp"
    fi
}

contracts() {
    # The event schemas and the config schema against their meta-schema, with a validator
    # independent of the one the tests use.
    check-jsonschema --check-metaschema generated/schemas/*.json generated/outbox.schema.json
    # The AsyncAPI document with the official parser; a broken one must be refused.
    node .ci/asyncapi/validate.mjs generated/asyncapi.json
    if node .ci/asyncapi/validate.mjs .ci/asyncapi/broken.json > /dev/null; then
        echo "the AsyncAPI check accepted a broken document"
        exit 1
    fi
}

check_sam_template() {
    local template=$1 out=$2
    mkdir -p "$out"
    # Serverless rules on the SAM source, then translate offline as `sam deploy` would and check
    # the CloudFormation with every validator.
    cfn-lint -a cfn_lint_serverless.rules -- "$template"
    python .ci/sam/translate.py "$template" "$out/template.json"
    cfn-lint -a cfn_lint_serverless.rules -- "$out/template.json"
    python .ci/sam/validate.py "$out/template.json" | grep -v '\[INFO\]'
    checkov --skip-download --quiet --compact --framework cloudformation -f "$out/template.json"
}

infrastructure() {
    check_sam_template generated/sam/template.yaml target/sam-check/example
    for case in generator/tests/cases/ok-*/; do
        check_sam_template "$case/expected/sam/template.yaml" "target/sam-check/$(basename "$case")"
    done
    # The pattern validator must refuse a rule whose detail pattern is not a list.
    python - target/sam-check/example/template.json target/sam-check/broken.json <<'PY'
import json, sys
template = json.load(open(sys.argv[1]))
rule = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
rule["Properties"]["EventPattern"]["detail"] = {"status": "SHIPPED"}
json.dump(template, open(sys.argv[2], "w"))
PY
    if python .ci/sam/validate.py target/sam-check/broken.json > /dev/null; then
        echo "cloudformation-validate accepted a broken event pattern"
        exit 1
    fi
}

lambda_build() {
    cargo lambda build --release --arm64 --locked -p relay
    local bootstrap=target/lambda/relay/bootstrap
    # ELF e_machine 0xB7 (183) is aarch64.
    local machine
    machine=$(od -An -t u2 -j 18 -N 2 "$bootstrap" | tr -d ' ')
    [[ $machine == 183 ]] || { echo "$bootstrap is not an arm64 binary (e_machine $machine)"; exit 1; }
    echo "arm64 bootstrap: $(stat -c %s "$bootstrap") bytes"
}

stage python-tools python_tools
stage node-tools node_tools
export PATH="$PWD/.venv/bin:$PATH"
stage rust-targets rustup target add aarch64-unknown-linux-gnu
stage fmt cargo fmt --all --check
stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings
stage test cargo test --workspace --locked
stage generated-is-current cargo run --quiet --locked -p generator -- --check
stage contracts contracts
stage infrastructure infrastructure
stage lambda-build lambda_build

echo "all stages passed in $((SECONDS - total_start)) s"
