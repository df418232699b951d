"""Terraform in the loop: every synthesized stack through terraform init, validate and plan, offline.

Tests marked ``terraform`` run the real CLI against the session's single synthesis (``synth_outdir``);
they skip without terraform or a provider mirror (and fail instead when ``CI=true``). The unmarked
tests pin down the harness's pure parts (random swap, data-source policy, override, mirror lookup)
and need neither. See tests/terraform_harness.py for why each piece exists.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest

from core.config import RESERVED_STACK_NAMES, ConfigError, load_project
from tests import terraform_harness as th
from tests.conftest import ROOT

# Under pytest-xdist, keep every Terraform test on one worker: the stacks are prepared once per
# worker and planned in parallel there already.
pytestmark = pytest.mark.xdist_group("terraform")

AWS_SOURCE = "registry.terraform.io/hashicorp/aws"


class TerraformWarning(UserWarning):
    """A warning terraform printed for a stack: shown in pytest's summary, not a failure."""


def _stack_names_for_collection() -> list[str]:
    """Stack names known before any fixture runs, so each stack gets its own test ids.

    pytest needs parameters at collection time, and synthesizing then would pay for a second
    synthesis. The project configuration (what main.build_app iterates: the reserved bootstrap
    stack plus one stack per environment file) is cheap to read. It is a guess that
    test_every_synthesized_stack_is_covered checks against the directories actually synthesized."""
    try:
        project = load_project(ROOT)
    except ConfigError:
        return []  # the configuration tests report it; the coverage test below fails too
    return sorted({*RESERVED_STACK_NAMES, *(env.stack_name for env in project.environments)})


STACKS = _stack_names_for_collection()


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


def _unavailable(reason: str):
    if th.must_fail_when_unavailable():
        pytest.fail(f"CI=true but the terraform loop cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def synthesized_stacks(synth_outdir) -> dict[str, Path]:
    return th.discover_stacks(synth_outdir)


@pytest.fixture(scope="session")
def toolchain(synthesized_stacks, tmp_path_factory) -> th.Toolchain:
    """terraform + mirror + CLI config + plugin cache, shared by every stack of the session.

    The aws version to look for comes from the synthesized required_providers, so upgrading the
    bindings without updating the mirror is reported, not silently planned with another version."""
    wanted = set()
    for stack_dir in synthesized_stacks.values():
        config = th.swap_random_resources(json.loads((stack_dir / th.STACK_FILE).read_text())).config
        try:
            wanted |= {r for r in th.provider_requirements(config) if r.source == AWS_SOURCE}
        except th.OfflineConfigError as error:
            pytest.fail(f"stack {stack_dir.name!r}: {error}", pytrace=False)
    if not wanted:
        pytest.fail("no synthesized stack requires hashicorp/aws: nothing to look for in a mirror")
    try:
        return th.Toolchain.discover(wanted, tmp_path_factory.mktemp("terraform-toolchain"))
    except th.HarnessUnavailable as error:
        _unavailable(str(error))


def _selected_stacks(session: pytest.Session) -> set[str]:
    """Stacks that the selected terraform tests of this run will ask for (after -k / -m / ids).

    Under pytest-xdist every worker sees every item but runs only some, so there each stack is
    planned when first asked for, not as a batch."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return set()
    params = [getattr(getattr(item, "callspec", None), "params", {}) for item in session.items
              if item.get_closest_marker("terraform")]
    return {p["stack"] for p in params if "stack" in p}


@pytest.fixture(scope="session")
def stack_run(request, toolchain, synthesized_stacks, tmp_path_factory):
    """``stack_run(name)`` -> :class:`StackRun`, each stack prepared and planned once per session.

    The first request plans every stack the session's selected tests need, in parallel (see
    run_stacks); later requests are cache hits."""
    done: dict[str, th.StackRun] = {}

    def get(name: str) -> th.StackRun:
        if name not in synthesized_stacks:
            pytest.fail(f"stack {name!r} was not synthesized (found: {sorted(synthesized_stacks)})")
        if name not in done:
            batch = sorted(((_selected_stacks(request.session) & set(synthesized_stacks)) - set(done)) | {name})
            done.update(th.run_stacks(
                {n: synthesized_stacks[n] for n in batch},
                lambda n: tmp_path_factory.mktemp(f"tf-{n}"),
                toolchain,
                jobs=min(len(batch), os.cpu_count() or 1)))
        return done[name]

    return get


def _require(run: th.StackRun, step: str) -> None:
    message = run.failure(step)
    if message:
        pytest.fail(message, pytrace=False)


# --------------------------------------------------------------------------------------------
# The loop, per stack
# --------------------------------------------------------------------------------------------


def test_every_synthesized_stack_is_covered(synth_outdir, synthesized_stacks):
    """The parametrized ids must be exactly the synthesized stacks, or a new stack goes unplanned."""
    manifest = json.loads((synth_outdir / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == sorted(synthesized_stacks), "manifest.json and stacks/ disagree"
    assert synthesized_stacks, "nothing was synthesized"
    assert sorted(synthesized_stacks) == STACKS, (
        f"synthesized {sorted(synthesized_stacks)} but the terraform tests cover {STACKS}: "
        "update _stack_names_for_collection in tests/test_terraform_loop.py")


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_init_is_offline_from_the_mirror_with_a_local_backend(stack, stack_run, stack_json, toolchain):
    run = stack_run(stack)
    _require(run, "init")
    backend = json.loads((run.workdir / ".terraform" / "terraform.tfstate").read_text())["backend"]
    original = stack_json(stack)["terraform"].get("backend", {})
    # The override replaced the whole block: an s3 backend, or the bootstrap's local backend whose
    # relative path points outside the scratch dir, would otherwise survive here.
    assert backend["type"] == "local", f"override did not replace backend {list(original)}"
    assert backend["config"].get("path") is None, f"the stack's local path survived: {backend['config']}"
    lock = (run.workdir / ".terraform.lock.hcl").read_text()
    for requirement in th.provider_requirements(run.config):
        locked = re.search(rf'provider "{re.escape(requirement.source)}" {{\s*version\s*=\s*"([^"]+)"', lock)
        assert locked and locked.group(1) == requirement.version, f"init did not lock {requirement}:\n{lock}"
    installed = run.workdir / ".terraform" / "providers" / AWS_SOURCE
    assert installed.is_dir(), f"no aws provider installed under {installed}"


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_validate_passes(stack, stack_run):
    run = stack_run(stack)
    _require(run, "validate")
    result = run.validate_result
    assert result["valid"] is True and result["error_count"] == 0, json.dumps(result["diagnostics"], indent=2)
    for diagnostic in result["diagnostics"]:
        warnings.warn(TerraformWarning(f"{stack}: validate: {diagnostic['summary']}: {diagnostic.get('detail', '')}"))


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_plan_creates_every_resource(stack, stack_run):
    run = stack_run(stack)
    _require(run, "show")
    plan = run.plan_json
    assert plan.get("errored") is False, f"plan JSON says errored:\n{run.runs['plan'].report()}"
    managed = [rc for rc in plan.get("resource_changes", [])
               if rc["mode"] == "managed" and "module_address" not in rc]
    not_create = sorted(f"{rc['address']}: {rc['change']['actions']}" for rc in managed
                        if rc["change"]["actions"] != ["create"])
    planned = {(rc["type"], rc["name"]) for rc in managed}
    expected = th.expected_resources(run.config)
    assert not not_create, f"from empty state every change must be a create: {not_create}"
    assert planned == expected, (
        f"configured but not planned: {sorted(expected - planned)}; "
        f"planned but not configured: {sorted(planned - expected)}")
    for warning in run.plan_warnings():
        warnings.warn(TerraformWarning(f"{stack}: plan: {warning}"))


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_offline_provider_override_merged_into_the_stacks_provider(stack, stack_run):
    """Mock credentials reached every aws provider block and the stack's own arguments survived.

    If the override did not merge (wrong alias, list shape), plan would try real credentials."""
    run = stack_run(stack)
    _require(run, "show")
    configured = run.plan_json["configuration"]["provider_config"]
    blocks = run.config.get("provider", {}).get("aws", [])
    for block in blocks if isinstance(blocks, list) else [blocks]:
        key = f"aws.{block['alias']}" if block.get("alias") else "aws"
        expressions = configured[key]["expressions"]
        for argument, value in th.OFFLINE_PROVIDER_ARGUMENTS.items():
            assert expressions.get(argument) == {"constant_value": value}, f"{key}.{argument}: {expressions.get(argument)}"
        kept = {k for k in block if k not in ("//", "alias")}
        assert kept <= set(expressions), f"{key} lost the stack's own {sorted(kept - set(expressions))}"
        if isinstance(block.get("region"), str) and "${" not in block["region"]:
            assert expressions["region"] == {"constant_value": block["region"]}


@pytest.mark.terraform
def test_random_swap_and_allow_listed_data_sources_plan_offline(toolchain, tmp_path):
    """The harness's own rewrites hold up against the real provider, in one plan to save time:
    a stack using random_* the ways cdktf writes it plans once swapped (types, sensitivity and
    references of the generated variables are right), and every LOCAL_DATA_SOURCES type is read
    during the offline plan (the allow-list is true)."""
    source = tmp_path / "stack"
    source.mkdir()
    config = _random_config()
    config["terraform"]["required_providers"]["aws"]["version"] = _aws_version(toolchain)
    config["terraform"]["backend"] = {"s3": {"bucket": "never-contacted", "key": "k", "region": "eu-west-1"}}
    config["data"] = {tf_type: {"probe": {}} for tf_type in th.LOCAL_DATA_SOURCES}
    config["data"]["aws_iam_policy_document"] = {"probe": {"statement": [{"actions": ["s3:GetObject"], "resources": ["*"]}]}}
    (source / th.STACK_FILE).write_text(json.dumps(config))
    # No separate validate here: plan validates too, and each terraform command costs seconds.
    run = th.run_stack(source, tmp_path / "work", toolchain, steps=["init", "plan", "show"])
    _require(run, "show")
    assert run.swap.swapped == ["random_id.suffix", "random_integer.port", "random_password.db-password_1A2B"]
    planned = {(rc["type"], rc["name"]) for rc in run.plan_json["resource_changes"] if rc["mode"] == "managed"}
    assert planned == th.expected_resources(run.config) == {
        ("aws_ssm_parameter", "url"), ("aws_s3_bucket", "b"), ("aws_security_group_rule", "r")}
    read = {r["type"] for r in run.plan_json["prior_state"]["values"]["root_module"]["resources"] if r["mode"] == "data"}
    assert read == set(th.LOCAL_DATA_SOURCES), f"read during plan: {sorted(read)}"


@pytest.mark.terraform
def test_validate_only_reports_an_invalid_argument(toolchain, tmp_path):
    """The helper kept for the `cdktf synth --hcl` check really fails on a bad configuration."""
    (tmp_path / "main.tf").write_text(
        f'terraform {{\n  required_providers {{\n    aws = {{ source = "hashicorp/aws", version = "{_aws_version(toolchain)}" }}\n  }}\n}}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket_nme = "typo"\n}\n')
    init, validate = th.validate_only(tmp_path, toolchain)
    assert init.ok, init.report()
    result = json.loads(validate.stdout)
    assert result["valid"] is False, validate.report()
    assert any("bucket_nme" in json.dumps(d) for d in result["diagnostics"]), validate.report()


def _aws_version(toolchain: th.Toolchain) -> str:
    """The aws version the synthesized stacks pin (and the toolchain found in the mirror)."""
    return max(r.version for r in toolchain.requirements if r.source == AWS_SOURCE)


# --------------------------------------------------------------------------------------------
# Harness units (no terraform)
# --------------------------------------------------------------------------------------------


def _random_config() -> dict:
    """A hand-made stack using random_* the ways cdktf writes references."""
    return {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"},
                                             "random": {"source": "hashicorp/random", "version": "3.7.2"}}},
        "provider": {"aws": [{"region": "eu-west-1"}], "random": [{}]},
        "resource": {
            "random_password": {"db-password_1A2B": {"length": 24, "special": False}},
            "random_id": {"suffix": {"byte_length": 4, "count": 2}},
            "random_integer": {"port": {"min": 1024, "max": 2048}},
            "aws_ssm_parameter": {"url": {
                "name": "/app/url",
                "type": "SecureString",
                "value": "postgres://app:${urlencode(random_password.db-password_1A2B.result)}@db:5432/app",
                "description": "literal random_password.db-password_1A2B.result and $${random_id.suffix.hex} stay",
                "depends_on": ["random_password.db-password_1A2B", "aws_s3_bucket.b"],
            }},
            "aws_s3_bucket": {"b": {
                "bucket": "logs-${random_id.suffix[0].hex}",
                "tags": {"Blob": "${jsonencode({\"pw\" = random_password.db-password_1A2B.result, \"n\" = \"${random_id.suffix[1].b64_std}\"})}"},
                "lifecycle": {"replace_triggered_by": ["random_id.suffix"]},
            }},
            "aws_security_group_rule": {"r": {
                "type": "ingress", "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"], "security_group_id": "sg-0123",
                "from_port": "${random_integer.port.result}", "to_port": "${random_integer.port.result}"}},
        },
        "output": {"password": {"value": "${random_password.db-password_1A2B.result}", "sensitive": True}},
        "locals": {"name": "${format(\"%s-x\", random_id.suffix[0].dec)}"},
    }


def test_swap_removes_random_and_leaves_no_reference_behind():
    swap = th.swap_random_resources(_random_config())
    config = swap.config
    assert swap.swapped == ["random_id.suffix", "random_integer.port", "random_password.db-password_1A2B"]
    assert not [t for t in config["resource"] if t.startswith("random_")]
    assert "random" not in config["terraform"]["required_providers"]
    assert "random" not in config["provider"]
    assert th.random_references(config) == []
    # A plain text search agrees, once the intentionally literal description and the generated
    # variables' own descriptions are set aside.
    del config["resource"]["aws_ssm_parameter"]["url"]["description"]
    text = json.dumps({k: v for k, v in config.items() if k != "variable"})
    assert "random_" not in text.replace("var.offline_random_", ""), text


def test_swap_rewrites_embedded_and_nested_references_to_typed_variables():
    swap = th.swap_random_resources(_random_config())
    resource, variables = swap.config["resource"], swap.config["variable"]
    by_ref = {ref: name for name, ref in swap.variables.items()}
    pw = by_ref["random_password.db-password_1A2B.result"]
    assert resource["aws_ssm_parameter"]["url"]["value"] == f"postgres://app:${{urlencode(var.{pw})}}@db:5432/app"
    assert resource["aws_s3_bucket"]["b"]["bucket"] == f"logs-${{var.{by_ref['random_id.suffix[0].hex']}}}"
    blob = resource["aws_s3_bucket"]["b"]["tags"]["Blob"]
    assert f"var.{pw}" in blob and f"var.{by_ref['random_id.suffix[1].b64_std']}" in blob
    assert variables[pw] == {"type": "string", "default": th.PLACEHOLDER, "sensitive": True,
                             "description": variables[pw]["description"]}
    assert variables[by_ref["random_integer.port.result"]]["type"] == "number"
    assert "sensitive" not in variables[by_ref["random_id.suffix[0].hex"]]
    assert resource["aws_ssm_parameter"]["url"]["depends_on"] == ["aws_s3_bucket.b"]
    assert resource["aws_s3_bucket"]["b"]["lifecycle"]["replace_triggered_by"] == []
    assert set(swap.variables) == set(variables)


def test_swap_keeps_literal_text_and_escaped_interpolation():
    description = th.swap_random_resources(_random_config()).config["resource"]["aws_ssm_parameter"]["url"]["description"]
    assert description == "literal random_password.db-password_1A2B.result and $${random_id.suffix.hex} stay"


def test_swap_does_not_modify_its_input_and_is_identity_without_random():
    original = _random_config()
    th.swap_random_resources(original)
    assert original == _random_config()
    plain = {"resource": {"aws_vpc": {"v": {"cidr_block": "10.0.0.0/16", "tags": {"Name": "${var.random_name.x}"}}}}}
    swap = th.swap_random_resources(plain)
    assert swap.config == plain and swap.swapped == [] and swap.variables == {}


def test_synthesized_stacks_leave_no_random_reference_after_swap(synthesized_stacks):
    """Whatever random_* the real stacks use (none yet), the swap must handle all of it."""
    for name, stack_dir in synthesized_stacks.items():
        swap = th.swap_random_resources(json.loads((stack_dir / th.STACK_FILE).read_text()))
        assert th.random_references(swap.config) == [], name


@pytest.mark.parametrize("text, code", [
    ("plain", []),
    ("${a.b}", ["a.b"]),
    ("x-${a}-y-${b}", ["a", "b"]),
    ("$${not.code}", []),
    ('${f({"k" = a.b})}', ["f({", " = a.b})"]),
    ('${f("s-${x.y}-t")}', ["f(", "x.y", ")"]),
    ('${f("a \\" ${q.r}")}', ["f(", "q.r", ")"]),
    ("%{ if a.b }x%{ endif }", [" if a.b ", " endif "]),
])
def test_expression_spans(text, code):
    assert [text[s:e] for s, e in th.expression_spans(text)] == code


def test_api_data_source_is_rejected_by_name(tmp_path):
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / th.STACK_FILE).write_text(json.dumps({
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"}}},
        "data": {"aws_iam_policy_document": {"ok": {}}, "aws_caller_identity": {"current": {}}},
    }))
    run = th.prepare_stack(stack, tmp_path / "work", [AWS_SOURCE])
    assert run.problem and "data.aws_caller_identity.current" in run.problem
    assert "aws_iam_policy_document" not in run.problem.split("(computed locally")[0]
    assert "data.aws_caller_identity.current" in run.failure("plan")
    assert not (tmp_path / "work" / th.STACK_FILE).exists(), "a rejected stack must not be planned"


def test_unmirrored_provider_is_rejected_by_name(tmp_path):
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / th.STACK_FILE).write_text(json.dumps({"terraform": {"required_providers": {
        "aws": {"source": "aws", "version": "5.100.0"}, "tls": {"source": "hashicorp/tls", "version": "4.0.6"}}}}))
    run = th.prepare_stack(stack, tmp_path / "work", [AWS_SOURCE])
    assert run.problem and "hashicorp/tls 4.0.6" in run.problem


def test_check_data_sources_accepts_locally_computed_ones():
    th.check_data_sources({"data": {t: {"x": {}} for t in th.LOCAL_DATA_SOURCES}})


def test_override_replaces_backend_and_mocks_every_aws_provider_alias():
    override = th.offline_override({"provider": {"aws": [{"region": "eu-west-1"}, {"alias": "use1", "region": "us-east-1"}]}})
    assert override["terraform"] == {"backend": {"local": {}}}
    blocks = override["provider"]["aws"]
    assert [b.get("alias") for b in blocks] == [None, "use1"]
    for block in blocks:
        assert {k: v for k, v in block.items() if k != "alias"} == dict(th.OFFLINE_PROVIDER_ARGUMENTS)
        assert "region" not in block  # the stack's own region must win
    # No provider block in the stack: Terraform accepts an override for the implicit default one.
    assert th.offline_override({})["provider"]["aws"] == [dict(th.OFFLINE_PROVIDER_ARGUMENTS)]


def test_provider_requirements_normalise_sources_and_need_exact_versions():
    config = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": "5.100.0"},
                                                    "r": {"source": "HashiCorp/random", "version": "= 3.7.2"}}}}
    assert th.provider_requirements(config) == [
        th.ProviderRequirement(AWS_SOURCE, "5.100.0"), th.ProviderRequirement("registry.terraform.io/hashicorp/random", "3.7.2")]
    with pytest.raises(th.OfflineConfigError, match="exact version"):
        th.provider_requirements({"terraform": {"required_providers": {"aws": {"source": "aws", "version": "~> 5.0"}}}})


def _fake_mirror(root: Path, version: str = "5.100.0", platform: str = "linux_amd64", packed: bool = False) -> Path:
    base = root / "registry.terraform.io" / "hashicorp" / "aws"
    if packed:
        base.mkdir(parents=True)
        (base / f"terraform-provider-aws_{version}_{platform}.zip").write_bytes(b"")
    else:
        (base / version / platform).mkdir(parents=True)
        (base / version / platform / f"terraform-provider-aws_v{version}_x5").write_bytes(b"")
    return root


def test_find_provider_mirror_searches_candidates_and_both_layouts(tmp_path):
    want = [th.ProviderRequirement(AWS_SOURCE, "5.100.0")]
    old = _fake_mirror(tmp_path / "old", version="5.99.0")
    packed = _fake_mirror(tmp_path / "packed", packed=True)
    assert th.find_provider_mirror(want, "linux_amd64", {}, [tmp_path / "absent", old, packed]) == packed
    with pytest.raises(th.HarnessUnavailable, match=r"hashicorp/aws 5\.100\.0 \(darwin_arm64\); set TF_PROVIDER_MIRROR"):
        th.find_provider_mirror(want, "darwin_arm64", {}, [packed])


def test_explicit_mirror_wins_and_a_wrong_one_is_reported(tmp_path):
    want = [th.ProviderRequirement(AWS_SOURCE, "5.100.0")]
    good = _fake_mirror(tmp_path / "good")
    explicit = _fake_mirror(tmp_path / "explicit")
    assert th.find_provider_mirror(want, "linux_amd64", {"TF_PROVIDER_MIRROR": str(explicit)}, [good]) == explicit
    with pytest.raises(th.HarnessUnavailable, match="TF_PROVIDER_MIRROR=.*wrong has no hashicorp/aws 5.100.0"):
        th.find_provider_mirror(want, "linux_amd64", {"TF_PROVIDER_MIRROR": str(tmp_path / "wrong")}, [good])


def test_cli_config_allows_only_the_mirror(tmp_path):
    text = th.write_cli_config(tmp_path / "c.tfrc", Path("/m i/rror"), [AWS_SOURCE]).read_text()
    assert 'path    = "/m i/rror"' in text and f'include = ["{AWS_SOURCE}"]' in text
    assert "direct" not in text and "network_mirror" not in text


@pytest.mark.parametrize("value, fails", [("true", True), ("1", True), ("", False), ("false", False)])
def test_missing_tools_fail_only_under_ci(value, fails):
    assert th.must_fail_when_unavailable({"CI": value}) is fails


def test_child_environment_drops_real_credentials_and_terraform_settings():
    env = th._base_env({"PATH": "/bin", "AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "t", "TF_VAR_x": "1",
                        "TF_CLI_ARGS_plan": "-target=x", "TF_LOG": "DEBUG"})
    assert env == {"PATH": "/bin", "TF_LOG": "DEBUG"}


def test_failure_message_names_the_failed_step_and_shows_its_output(tmp_path):
    run = th.StackRun("demo", tmp_path)
    run.runs["init"] = th.TerraformRun(["terraform", "init"], tmp_path, 0, "ok", "", 1.0)
    run.runs["validate"] = th.TerraformRun(["terraform", "validate"], tmp_path, 1, "", "Error: Unsupported argument\nbucket_nme", 2.0)
    assert run.failure("init") is None
    message = run.failure("plan")
    assert "`terraform plan` was not run because `terraform validate` failed" in message
    assert "bucket_nme" in message and "exit 1" in message
    run.runs["validate"].stdout = json.dumps({"valid": False, "diagnostics": [{
        "severity": "error", "summary": "Unsupported argument", "detail": "An argument named\n\"bucket_nme\"",
        "range": {"filename": "cdk.tf.json", "start": {"line": 7}}, "snippet": {"context": "resource.aws_s3_bucket.b"}}]})
    assert ('error: Unsupported argument [cdk.tf.json:7 resource.aws_s3_bucket.b] An argument named "bucket_nme"'
            in run.failure("validate"))
