"""Terraform in the loop: every synthesized stack through terraform init and plan (which validates), offline.

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
from tests import prefetch
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


# The terraform work runs in the background from the moment the session synthesis exists (see
# tests/prefetch.py); the fixtures below hand its results to the tests, which run last.


@prefetch.job("terraform-toolchain", prefetch.SYNTH, consumers={"toolchain"})
def _discover_toolchain(ctx: prefetch.Context) -> th.Toolchain:
    """terraform + mirror + CLI config + plugin cache, shared by every terraform run of the session.

    The aws version to look for comes from the synthesized required_providers, so upgrading the
    bindings without updating the mirror is reported, not silently planned with another version."""
    wanted = set()
    for stack_dir in th.discover_stacks(ctx.synth_outdir).values():
        config = th.swap_random_resources(json.loads((stack_dir / th.STACK_FILE).read_text())).config
        try:
            wanted |= {r for r in th.provider_requirements(config) if r.source == AWS_SOURCE}
        except th.OfflineConfigError as error:
            raise th.OfflineConfigError(f"stack {stack_dir.name!r}: {error}") from None
    if not wanted:
        raise th.OfflineConfigError("no synthesized stack requires hashicorp/aws: nothing to look for in a mirror")
    return th.Toolchain.discover(wanted, ctx.scratch)


@prefetch.job("terraform-stacks", prefetch.SYNTH, consumers={"stack_run"}, needs=["terraform-toolchain"])
def _plan_every_stack(ctx: prefetch.Context) -> dict[str, th.StackRun]:
    """init + plan of the stacks the selected tests ask for (all when none is named), two at a
    time: each plan is CPU-bound on the provider and the in-process tests need a core too."""
    stacks = th.discover_stacks(ctx.synth_outdir)
    params = [getattr(getattr(item, "callspec", None), "params", {}) for item in ctx.selected
              if item.get_closest_marker("terraform") and "stack_run" in getattr(item, "fixturenames", ())]
    wanted = {p["stack"] for p in params if "stack" in p} & set(stacks) or set(stacks)
    runs = th.run_stacks({name: stacks[name] for name in sorted(wanted)}, lambda name: ctx.scratch / name,
                         ctx.need("terraform-toolchain"), jobs=os.cpu_count() or 1)
    # tests/test_state_secrets.py reads dev's saved plan as JSON: `show` here, in the background.
    if "dev" in runs and not runs["dev"].failure("plan") and any(
            item.nodeid.startswith("tests/test_state_secrets.py") for item in ctx.selected):
        th.run_steps(runs["dev"], ctx.need("terraform-toolchain"), ["show"])
    return runs


@pytest.fixture(scope="session")
def toolchain(synth_outdir) -> th.Toolchain:
    try:
        return prefetch.result("terraform-toolchain", synth_outdir)
    except th.HarnessUnavailable as error:
        _unavailable(str(error))
    except th.OfflineConfigError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def stack_run(toolchain, synth_outdir, synthesized_stacks):
    """``stack_run(name)`` -> :class:`StackRun`, each stack prepared and planned once per session."""
    runs = prefetch.result("terraform-stacks", synth_outdir)

    def get(name: str) -> th.StackRun:
        if name not in synthesized_stacks:
            pytest.fail(f"stack {name!r} was not synthesized (found: {sorted(synthesized_stacks)})")
        if name not in runs:
            pytest.fail(f"stack {name!r} was not planned: this session selected {sorted(runs)}")
        return runs[name]

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
def test_plan_reports_no_errors(stack, stack_run):
    """plan validates the configuration before planning, so this is also `terraform validate`."""
    run = stack_run(stack)
    _require(run, "plan")
    errors = run.diagnostics("error")
    assert not errors, json.dumps(errors, indent=2)
    for warning in run.plan_warnings():
        warnings.warn(TerraformWarning(f"{stack}: plan: {warning}"))


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_plan_creates_every_resource(stack, stack_run):
    run = stack_run(stack)
    _require(run, "plan")
    changes = run.planned_changes()
    not_create = sorted(f"{t}.{n}: {action}" for (t, n), action in changes.items() if action != "create")
    planned, expected = set(changes), th.expected_resources(run.config)
    assert not not_create, f"from empty state every change must be a create: {not_create}"
    assert planned == expected, (
        f"configured but not planned: {sorted(expected - planned)}; "
        f"planned but not configured: {sorted(planned - expected)}")
    summary = [m["changes"] for m in run.plan_messages if m.get("type") == "change_summary"]
    assert summary == [{"add": len(expected), "change": 0, "import": 0, "remove": 0, "operation": "plan"}], summary


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_provider_block_got_the_offline_override(stack, stack_run):
    """The override has one block per aws provider alias of the stack (an alias it missed would
    be configured with real-credential lookups). That terraform merges such blocks into the
    stack's own, keeping region and the rest, is proven once against the real CLI in
    test_random_swap_allow_listed_data_sources_and_provider_override_plan_offline."""
    run = stack_run(stack)
    _require(run, "plan")
    override = json.loads((run.workdir / th.OVERRIDE_FILE).read_text())
    blocks = run.config.get("provider", {}).get("aws", [])
    blocks = blocks if isinstance(blocks, list) else [blocks]
    assert sorted(str(b.get("alias")) for b in override["provider"]["aws"]) == \
        sorted(str(b.get("alias")) for b in blocks or [{}])
    for block in override["provider"]["aws"]:
        assert {k: v for k, v in block.items() if k != "alias"} == dict(th.OFFLINE_PROVIDER_ARGUMENTS)
    assert override["terraform"] == {"backend": {"local": {}}}


def _probe_config(aws_version: str) -> dict:
    """_random_config plus what else the harness relies on: an s3 backend to replace, every
    LOCAL_DATA_SOURCES type, and an aliased provider next to one with default_tags."""
    config = _random_config()
    config["terraform"]["required_providers"]["aws"]["version"] = aws_version
    config["terraform"]["backend"] = {"s3": {"bucket": "never-contacted", "key": "k", "region": "eu-west-1"}}
    config["provider"]["aws"] = [
        {"region": "eu-west-1", "default_tags": [{"tags": {"Project": "probe"}}]},
        {"alias": "use1", "region": "us-east-1"},
    ]
    config["data"] = {tf_type: {"probe": {}} for tf_type in th.LOCAL_DATA_SOURCES}
    config["data"]["aws_iam_policy_document"] = {"probe": {"statement": [{"actions": ["s3:GetObject"], "resources": ["*"]}]}}
    # Postconditions make the plan itself prove what survived the override merge: each block
    # kept its own region, and the default block its default_tags (no `show -json` needed).
    config["data"]["aws_region"] = {
        "probe": {"lifecycle": {"postcondition": [
            {"condition": '${self.name == "eu-west-1"}', "error_message": "default provider lost its region"}]}},
        "aliased": {"provider": "aws.use1", "lifecycle": {"postcondition": [
            {"condition": '${self.name == "us-east-1"}', "error_message": "aliased provider lost its region"}]}},
    }
    config["data"]["aws_default_tags"] = {"probe": {"lifecycle": {"postcondition": [
        {"condition": '${lookup(self.tags, "Project", "") == "probe"}', "error_message": "default_tags lost"}]}}}
    return config


@prefetch.job("terraform-harness-probe", prefetch.SYNTH, consumers={"harness_probe"}, needs=["terraform-toolchain"])
def _plan_the_harness_probe(ctx: prefetch.Context) -> tuple[dict, th.StackRun]:
    toolchain = ctx.need("terraform-toolchain")
    config = _probe_config(_aws_version(toolchain))
    source = ctx.scratch / "stack"
    source.mkdir()
    (source / th.STACK_FILE).write_text(json.dumps(config))
    return config, th.run_stack(source, ctx.scratch / "work", toolchain)


@pytest.fixture(scope="session")
def harness_probe(toolchain, synth_outdir) -> tuple[dict, th.StackRun]:
    return prefetch.result("terraform-harness-probe", synth_outdir)


@pytest.mark.terraform
def test_random_swap_allow_listed_data_sources_and_provider_override_plan_offline(harness_probe):
    """The harness's own rewrites hold up against the real provider, in one plan to save time:
    a stack using random_* the ways cdktf writes it plans once swapped (types, sensitivity and
    references of the generated variables are right), every LOCAL_DATA_SOURCES type is read
    during the offline plan (the allow-list is true), and the override merges into every aws
    provider block, default and aliased, without losing the stack's own arguments."""
    config, run = harness_probe
    _require(run, "plan")  # includes the postconditions on region and default_tags
    assert not run.diagnostics("error")
    assert run.swap.swapped == ["random_id.suffix", "random_integer.port", "random_password.db-password_1A2B"]
    assert set(run.planned_changes()) == th.expected_resources(run.config) == {
        ("aws_ssm_parameter", "url"), ("aws_s3_bucket", "b"), ("aws_security_group_rule", "r")}
    assert run.data_sources_read() == set(th.LOCAL_DATA_SOURCES), f"read during plan: {run.data_sources_read()}"
    reads = [m["hook"]["resource"]["addr"] for m in run.plan_messages
             if m.get("type") == "apply_complete" and m["hook"].get("action") == "read"]
    assert "data.aws_region.aliased" in reads and "data.aws_region.probe" in reads
    # Plan got this far with mock keys and no network: the skip_* switches reached both blocks
    # (without them the provider calls STS while configuring). The override names both:
    override = json.loads((run.workdir / th.OVERRIDE_FILE).read_text())
    assert [b.get("alias") for b in override["provider"]["aws"]] == [None, "use1"]


def test_a_failed_postcondition_fails_the_plan_report():
    """The probe leans on postconditions failing the plan; the harness must surface that."""
    run = th.StackRun("probe", Path("."), runs={"plan": th.TerraformRun(
        ["terraform", "plan"], Path("."), 1,
        json.dumps({"type": "diagnostic", "diagnostic": {
            "severity": "error", "summary": "Resource postcondition failed", "detail": "aliased provider lost its region",
            "range": {"filename": "cdk.tf.json", "start": {"line": 3}}}}) + "\n", "", 0.1)})
    message = run.failure("plan")
    assert "Resource postcondition failed" in message and "aliased provider lost its region" in message
    assert run.diagnostics("error")[0]["summary"] == "Resource postcondition failed"


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
    run.runs["init"] = th.TerraformRun(["terraform", "init"], tmp_path, 1, "", "Error: Failed to query available provider packages", 2.0)
    message = run.failure("plan")
    assert "`terraform plan` was not run because `terraform init` failed" in message
    assert "Failed to query available provider packages" in message and "exit 1" in message
    run.runs["init"] = th.TerraformRun(["terraform", "init"], tmp_path, 0, "ok", "", 1.0)
    assert run.failure("init") is None
    stream = [{"type": "version", "terraform": "1.11.4"},
              {"type": "diagnostic", "diagnostic": {
                  "severity": "error", "summary": "Unsupported argument", "detail": "An argument named\n\"bucket_nme\"",
                  "range": {"filename": "cdk.tf.json", "start": {"line": 7}}, "snippet": {"context": "resource.aws_s3_bucket.b"}}}]
    run.runs["plan"] = th.TerraformRun(["terraform", "plan", "-json"], tmp_path, 1,
                                       "\n".join(json.dumps(m) for m in stream) + "\npanic: not JSON\n", "", 2.0)
    message = run.failure("plan")
    assert 'error: Unsupported argument [cdk.tf.json:7 resource.aws_s3_bucket.b] An argument named "bucket_nme"' in message
    assert "panic: not JSON" in message  # a line that is not JSON is still shown
    assert [d["summary"] for d in run.diagnostics("error")] == ["Unsupported argument"]
