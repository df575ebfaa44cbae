#!/usr/bin/env bash
# The one test command (README "Testing"). Installs what the tests need (idempotent: a second
# run reuses .venv and the Rust targets), then runs formatting, lints on every crate (generated
# code included), every test, the committed generated/ being current, and the arm64 Lambda
# build. Prints how long each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Offline-friendly CLIs: no telemetry, no update checks.
export SAM_CLI_TELEMETRY=0 CDK_DISABLE_CLI_TELEMETRY=true
total_start=$SECONDS
stage() {
    local name=$1
    shift
    local start=$SECONDS
    echo "==> $name: $*"
    "$@"
    echo "<== $name took $((SECONDS - start)) s"
}

# A stage in the background, its output in target/NAME.log, shown (and its time said) by
# `wait_stage NAME`; a failure fails the run there. Only for stages whose output nothing
# before the wait needs, and beside stages that leave it a core: pip and npm beside clippy
# took 374 s where one after the other takes 198.
background_stage() {
    local name=$1
    shift
    mkdir -p target
    echo "==> $name (in the background, beside the stages below up to its wait): $*"
    (
        set +e
        start=$SECONDS
        (set -e; "$@") > "target/$name.log" 2>&1
        status=$?
        echo "$((SECONDS - start))" > "target/$name.seconds"
        exit "$status"
    ) &
    background_pids[$name]=$!
}
declare -A background_pids
wait_stage() {
    local name=$1 start=$SECONDS
    if ! wait "${background_pids[$name]}"; then
        cat "target/$name.log"
        echo "<== $name failed"
        exit 1
    fi
    cat "target/$name.log"
    echo "<== $name took $(cat "target/$name.seconds") s (waited for it $((SECONDS - start)) s)"
}

# uv (pinned, in a virtualenv of its own) installs the tools' virtualenvs: the same pinned
# packages pip installs, in ~25 s where pip took 60-70 s here.
UV_VERSION=0.13.10
uv() {
    if [[ ! -x .venv-uv/bin/uv || $(.venv-uv/bin/uv --version) != "uv $UV_VERSION"* ]]; then
        rm -rf .venv-uv
        python3 -m venv .venv-uv
        .venv-uv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    fi
    .venv-uv/bin/uv "$@"
}

venv() {
    # A virtualenv from a pinned requirements file, rebuilt only when the file changed.
    local dir=$1 requirements=$2
    local stamp=$dir/.requirements.sha256
    local want
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [[ ! -x $dir/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        rm -rf "$dir"
        uv venv --quiet --python python3 "$dir"
        # Compiled as pip compiles them: this machine sets PYTHONDONTWRITEBYTECODE, so a tool
        # left uncompiled compiles its modules again in every process (cfn-lint and checkov
        # made the infrastructure stage 50 s slower).
        uv pip install --quiet --compile-bytecode --python "$dir/bin/python" -r "$requirements"
        echo "$want" > "$stamp"
    fi
}

system_tools() {
    # Debian's Chromium for the event catalog's browser test (npm never downloads a browser)
    # and Debian's Go for the Go bindings.
    local missing=()
    command -v chromium > /dev/null || missing+=(chromium)
    command -v go > /dev/null || missing+=(golang-go)
    if (( ${#missing[@]} )); then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
    fi
    chromium --version
    go version
}

python_tools() {
    # The four virtualenvs side by side (uv first, so that they do not install it four times).
    uv --version
    local pids=() pid
    venv .venv .ci/requirements.txt & pids+=($!)
    venv .venv-sam .ci/requirements-sam.txt & pids+=($!)
    venv .venv-v2 .ci/requirements-v2.txt & pids+=($!)
    venv .venv-bindings .ci/requirements-bindings.txt & pids+=($!)
    for pid in "${pids[@]}"; do
        wait "$pid"
    done
    .venv/bin/cargo-lambda lambda --help > /dev/null
    .venv-sam/bin/sam --version
}

npm_ci() {
    # npm ci only when the lock changed since the last install here.
    local dir=$1
    local stamp=$dir/node_modules/.lock.sha256
    local want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
        echo "$want" > "$stamp"
    fi
}

node_tools() {
    npm_ci .ci/asyncapi
    npm_ci generated/cdk
    npm_ci bench/node
    npm_ci .ci/catalog
    npm_ci .ci/jsonata
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

infrastructure() {
    local root=$PWD
    # The example: `sam build` and the CDK app with cargo-lambda, as a user deploys them.
    # --no-cached: SAM keys its cache on the relay crate alone, not the runtime it depends on.
    (cd generated/sam && "$root/.venv-sam/bin/sam" build --no-cached < /dev/null > /dev/null)
    cmp generated/sam/.aws-sam/build/Relay/bootstrap target/lambda/relay/bootstrap
    # Every case's stacks, one test each (the example's app builds its relay with cargo-lambda).
    bash .ci/infra/cases.sh
    # RustFunction built the function with cargo-lambda, so it too leaves out `local`.
    local assets=(target/infra-check/example/cdk.out/asset.*/bootstrap)
    [[ -f ${assets[0]} ]] || { echo "the CDK app built no relay asset"; exit 1; }
    if grep -q "outbox dev: the stack is up" "${assets[@]}"; then
        echo "the CDK app's relay carries the local feature (relay dev)"
        exit 1
    fi
    # Without cargo-lambda the app must refuse (cargo-lambda-cdk alone would try Docker).
    local without
    without=$(tr ':' '\n' <<< "$PATH" | grep -v -x -F "$root/.venv/bin" | paste -sd:)
    mkdir -p target/infra-check
    if (cd generated/cdk && PATH=$without node dist/bin/app.js) 2> target/infra-check/no-cargo-lambda.txt; then
        echo "the CDK app synthesized without cargo-lambda"
        exit 1
    fi
    grep -q "cargo-lambda is not installed" target/infra-check/no-cargo-lambda.txt
    # The comparison must catch a stack that differs where the targets example is most
    # specific: a target role widened, an input transformer changed, a topic policy unpinned.
    local targets=target/infra-check/targets
    local cdk_template=$targets/cdk.out/myapp-targets.template.json
    for mutation in role input topic; do
        python - "$cdk_template" "$targets/mutated.json" "$mutation" <<'PY'
import json, sys
template = json.load(open(sys.argv[1]))
resources = template["Resources"]
mutation = sys.argv[3]
rules = [r for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
if mutation == "role":
    target = next(t for r in rules for t in r["Properties"]["Targets"] if "RoleArn" in t)
    role = resources[target["RoleArn"]["Fn::GetAtt"][0]]
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
elif mutation == "input":
    target = next(t for r in rules for t in r["Properties"]["Targets"] if "InputTransformer" in t)
    target["InputTransformer"]["InputTemplate"] = target["InputTransformer"]["InputTemplate"].replace("<", "<<")
else:
    policy = next(p for p in resources.values() if p["Type"] == "AWS::SNS::TopicPolicy")
    del policy["Properties"]["PolicyDocument"]["Statement"][0]["Condition"]
json.dump(template, open(sys.argv[2], "w"))
PY
        if python .ci/infra/compare.py "$targets/sam.json" "$targets/mutated.json" > /dev/null; then
            echo "the SAM/CDK comparison missed a mutated $mutation"
            exit 1
        fi
    done
    # The pattern validator must refuse a rule whose detail pattern is not a list.
    python - target/infra-check/example/sam.json target/infra-check/broken.json <<'PY'
import json, sys
template = json.load(open(sys.argv[1]))
rule = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
rule["Properties"]["EventPattern"]["detail"] = {"status": "SHIPPED"}
json.dump(template, open(sys.argv[2], "w"))
PY
    if python .ci/sam/validate.py target/infra-check/broken.json > /dev/null; then
        echo "cloudformation-validate accepted a broken event pattern"
        exit 1
    fi
}

bindings() {
    # Every generated output's TypeScript and Python bindings: type-checked (tsc strict, mypy
    # --strict), then run on the relay's own dry-run output (the example's, written by
    # e2e/tests/bindings.rs from 1,500 records; each golden case's and example's
    # expected.dryrun). The Rust bindings are a workspace crate, linted and tested above.
    local tsc=$PWD/generated/cdk/node_modules/.bin/tsc
    # Go from Debian (its toolchain only: no module is downloaded), caches in target/.
    export GOCACHE=$PWD/target/go-cache GOPATH=$PWD/target/go GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off
    for generated in generated examples/*/generated generator/tests/cases/ok-*/expected; do
        local name dryrun out
        if [[ $generated == generated ]]; then
            name=example
            dryrun=target/bindings-check/myapp.dryrun
        else
            name=$(basename "$(dirname "$generated")")
            dryrun=$(dirname "$generated")/expected.dryrun
        fi
        out=target/bindings-check/$name
        rm -rf "$out"
        "$tsc" -p "$generated/bindings/typescript" --outDir "$out/ts"
        echo '{"type":"module"}' > "$out/ts/package.json"
        node .ci/bindings/check.mjs "$generated" "$dryrun" "$out/ts"
        .venv-bindings/bin/mypy --strict --no-error-summary --cache-dir target/bindings-check/mypy-cache "$generated/bindings/python/outbox_events.py"
        .venv-bindings/bin/python .ci/bindings/check.py "$generated" "$dryrun"
        # Go: formatted, vetted, its own test, then the check in a module requiring it.
        local gen=$PWD/$generated/bindings/go module
        module=$(sed -n 's/^module //p' "$gen/go.mod")
        [[ -z $(gofmt -l "$gen") ]] || { echo "$gen is not gofmt-formatted"; gofmt -d "$gen"; exit 1; }
        (cd "$gen" && go vet ./... && go test ./... > /dev/null)
        mkdir -p "$out/go"
        sed "s|EVENTS_MODULE|$module|" .ci/bindings/go/check.go > "$out/go/main.go"
        printf 'module outbox.local/check\n\ngo 1.19\n\nrequire %s v0.0.0\n\nreplace %s => %s\n' "$module" "$module" "$gen" > "$out/go/go.mod"
        (cd "$out/go" && go run . "$OLDPWD/$generated" "$OLDPWD/$dryrun")
    done
}

catalog() {
    # Every generated event catalog in Chromium: pages, links, the diagram, a static server;
    # screenshots in target/catalog-check/.
    node .ci/catalog/check.mjs generated examples/*/generated generator/tests/cases/ok-*/expected
    # A catalog with a missing page must be refused.
    local broken=target/catalog-check/broken
    rm -rf "$broken"
    mkdir -p "$broken"
    cp -r examples/targets/generated/catalog examples/targets/generated/schemas "$broken"/
    rm "$broken/catalog/events/UserCreated.html"
    if node .ci/catalog/check.mjs "$broken" > /dev/null 2>&1; then
        echo "the catalog check accepted a broken link"
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
    # The relay's Cargo.toml tells cargo-lambda to leave the local stand-ins (feature `local`:
    # relay poll, relay dev) out of the function.
    if grep -q "outbox dev: the stack is up" "$bootstrap"; then
        echo "$bootstrap carries the local feature (relay dev)"
        exit 1
    fi
    echo "arm64 bootstrap: $(stat -c %s "$bootstrap") bytes"
}

package() {
    # The crates a user installs or a generated relay links, as crates.io would get them:
    # metadata, versions on every path dependency, only the files they ship. Unpacked into
    # target/package/NAME-VERSION, where the user-repo stage builds every one of them from its
    # package (that build is the verification; `cargo package`'s own would build each
    # dependency tree again, 4.5 minutes here).
    local crates=(outbox-stack outbox-pattern outbox-local-bus outbox-runtime outbox-ops outbox)
    local version
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
    # Its warnings (no repository URL yet; the in-tree patch unused by a package) go to a log
    # shown only when packaging fails.
    cargo package --quiet --no-verify --locked --allow-dirty "${crates[@]/#/--package=}" \
        2> target/package.log || { cat target/package.log; exit 1; }
    local crate
    for crate in "${crates[@]}"; do
        rm -rf "target/package/$crate-$version"
        # --touch: the archive dates every file 2006, which would hide a change from cargo.
        tar xzf "target/package/$crate-$version.crate" --touch -C target/package
        echo "$crate $version: $(tar tzf "target/package/$crate-$version.crate" | wc -l) files"
    done
}

stage system-tools system_tools
stage python-tools python_tools
stage node-tools node_tools
export PATH="$PWD/.venv/bin:$PATH"
stage rust-targets rustup target add aarch64-unknown-linux-gnu
stage fmt cargo fmt --all --check
stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings
# cargo-nextest (on every machine of this kind) runs the test binaries side by side, where
# `cargo test` runs them one after another: the moto-bound flow tests wait while the golden
# relays compile. The workspace has no doctests (`cargo test --doc` would find none).
stage test cargo nextest run --workspace --locked --test-threads 4 --no-fail-fast
generated_is_current() {
    # The `outbox` the test stage built (a `cargo run -p generator` would build it again with
    # other features' artifacts).
    local outbox=$PWD/target/debug/outbox
    "$outbox" --check
    for example in examples/*/; do
        (cd "$example" && "$outbox" --check)
    done
}

# The arm64 release build takes minutes of cargo; the stages beside it run no cargo (cargo
# would wait for the target directory's lock) and use what the test stage built.
background_stage lambda-build lambda_build
stage generated-is-current generated_is_current
stage contracts contracts
stage bindings bindings
stage catalog catalog
# The documented benchmark command works (one quick round on the test stage's debug binaries:
# no second release build, no cargo; timings are reported, never asserted, and mean nothing
# beside a build).
stage bench-smoke python3 bench/run.py --quick --no-build
wait_stage lambda-build
stage infrastructure infrastructure
stage package package
# A user: outbox installed from its package, used in a repository of its own (after the Lambda
# build, whose arm64 dependencies its `sam build` and CDK synth reuse).
stage user-repo bash .ci/user/run.sh

echo "all stages passed in $((SECONDS - total_start)) s"
