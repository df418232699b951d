#!/usr/bin/env bash
# CI's Terraform steps on one synthesized stack, so both workflows run the same commands.
#   tools/ci/terraform.sh diff ENV               plan without the state lock (no lock writes) -> diff.txt
#   tools/ci/terraform.sh save ENV S3_PREFIX     plan -out, upload stack + plan to S3, print its sha256
#   tools/ci/terraform.sh apply ENV S3_PREFIX SHA256
#                                          fetch exactly that upload, check the digest, apply it
# Plans live in the state bucket (its key and bucket policy guard them), not in GitHub artifacts:
# a plan file carries a state snapshot. Only the digest travels between jobs, as an artifact.
set -euo pipefail

command=$1 env=$2
stack="cdktf.out/stacks/$env"

synth() {
  make synth >/dev/null
  terraform -chdir="$stack" init -input=false -lock=false -no-color >/dev/null
}

case "$command" in
  diff)
    synth
    terraform -chdir="$stack" plan -input=false -lock=false -no-color | tee diff.txt
    ;;
  save)
    prefix=$3
    # The same guard as `make deploy`: an all-zero account id or certificate ARN is a placeholder.
    if grep -qs '000000000000' "environments/$env.toml"; then
      echo "environments/$env.toml still holds an all-zero placeholder (account id / certificate ARN): replace it before deploying" >&2
      exit 1
    fi
    synth
    terraform -chdir="$stack" plan -input=false -lock=false -no-color -out=tfplan | tee diff.txt
    tar --exclude=.terraform -C "$stack" -czf plan.tgz .
    sha256sum plan.tgz | cut -d' ' -f1 > plan.sha256
    aws s3 cp --only-show-errors plan.tgz "s3://$prefix.tgz"
    ;;
  apply)
    prefix=$3 expected=$4
    aws s3 cp --only-show-errors "s3://$prefix.tgz" plan.tgz
    actual=$(sha256sum plan.tgz | cut -d' ' -f1)
    if [ "$actual" != "$expected" ]; then
      echo "saved plan digest $actual is not the reviewed $expected: refusing to apply" >&2
      exit 1
    fi
    mkdir -p applied && tar -C applied -xzf plan.tgz
    terraform -chdir=applied init -input=false -no-color >/dev/null
    terraform -chdir=applied apply -input=false -no-color tfplan
    ;;
  *)
    echo "usage: tools/ci/terraform.sh diff|save|apply ENV [S3_PREFIX [SHA256]]" >&2
    exit 2
    ;;
esac
