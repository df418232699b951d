"""Run the real terraform CLI (init, plan; validate for HCL) against synthesized stacks, offline.

Why: the JSON-level tests prove what cdktf *wrote*; only Terraform and the AWS provider can say
whether it is a configuration they accept (argument names, block shapes, types, references,
provider-side validation). This module turns a synthesized ``cdk.tf.json`` into a scratch working
directory that plans without network, AWS account or state:

* an override file swaps the backend for a local one and gives the aws provider(s) mock
  credentials and the ``skip_*`` switches, so nothing talks to AWS (see :func:`offline_override`);
* ``random_*`` resources are replaced by variables, because the random provider is not in the
  offline mirror (see :func:`swap_random_resources`); what was swapped is reported;
* calls of core/ephemeral.py's password module (an ephemeral Secrets Manager GetRandomPassword,
  opened at plan time) are replaced by ephemeral variables (see :func:`swap_ephemeral_passwords`);
  a top-level ephemeral resource is refused, like an API-calling data source;
* data sources that would call an AWS API are refused with a clear message
  (see :func:`check_data_sources`);
* provider plugins come only from a filesystem mirror, through a CLI config written here, so
  ``terraform init`` cannot reach a registry (see :func:`find_provider_mirror`,
  :func:`write_cli_config`).

Everything here is plain Python with no pytest dependency except where noted, so the pure parts are
unit-tested without terraform and the rest can be reused (e.g. :func:`validate_together` for the
"``cdktf synth --hcl`` output also validates" check).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

STACK_FILE = "cdk.tf.json"
OVERRIDE_FILE = "zz_offline_override.tf.json"
PLAN_FILE = "plan.bin"
PLACEHOLDER = "offline-placeholder"
MIRROR_ENV_VAR = "TF_PROVIDER_MIRROR"
DEFAULT_HOST = "registry.terraform.io"
DEFAULT_NAMESPACE = "hashicorp"
RANDOM_SOURCE = f"{DEFAULT_HOST}/hashicorp/random"

# Data sources the aws provider computes locally: reading them calls no AWS API, so they plan
# offline with mock credentials. The harness probe in test_terraform_loop.py reads each entry
# against the real provider; add a type here only together with that proof.
LOCAL_DATA_SOURCES = frozenset({"aws_default_tags", "aws_iam_policy_document", "aws_partition", "aws_region"})

# Mock credentials: any value works because credential validation and account lookup are skipped.
MOCK_ACCESS_KEY = "mock-access-key"
MOCK_SECRET_KEY = "mock-secret-key"
OFFLINE_PROVIDER_ARGUMENTS: Mapping[str, Any] = {
    "access_key": MOCK_ACCESS_KEY,
    "secret_key": MOCK_SECRET_KEY,
    "skip_credentials_validation": True,  # no sts:GetCallerIdentity at configure time
    "skip_requesting_account_id": True,  # no STS/IAM call to learn the account id (ARNs become unknown)
    "skip_metadata_api_check": True,  # never probe the EC2 instance metadata service
    "skip_region_validation": True,  # no dependency on the provider's region list
}


def _standard_mirror_roots() -> list[Path]:
    """Where mirrors usually live: this project's CI image, then Terraform's implicit plugin dirs."""
    home = Path.home()
    roots = [Path("/opt/tf-plugins"), home / ".terraform.d" / "plugins"]
    xdg_data_home = os.environ.get("XDG_DATA_HOME")
    roots.append(Path(xdg_data_home) / "terraform" / "plugins" if xdg_data_home
                 else home / ".local" / "share" / "terraform" / "plugins")
    roots.append(home / "Library" / "Application Support" / "io.terraform" / "plugins")  # macOS
    for data_dir in os.environ.get("XDG_DATA_DIRS", "").split(os.pathsep):
        if data_dir:
            roots.append(Path(data_dir) / "terraform" / "plugins")
    roots += [Path("/usr/local/share/terraform/plugins"), Path("/usr/share/terraform/plugins")]
    return list(dict.fromkeys(roots))  # de-duplicated, order kept


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class HarnessUnavailable(Exception):
    """The machine cannot run the loop (no terraform, no mirror). Tests skip, or fail under CI."""


class OfflineConfigError(Exception):
    """A stack cannot be made to plan offline; the message says what to change."""


def must_fail_when_unavailable(environ: Mapping[str, str] = os.environ) -> bool:
    """True under CI: there a missing terraform or mirror is a broken pipeline, not a laptop."""
    return environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


# --------------------------------------------------------------------------------------------
# Provider requirements and the filesystem mirror
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ProviderRequirement:
    source: str  # fully qualified, e.g. registry.terraform.io/hashicorp/aws
    version: str  # one exact version

    def __str__(self) -> str:
        return f"{self.source.removeprefix(DEFAULT_HOST + '/')} {self.version}"


def normalize_source(source: str) -> str:
    """``aws`` / ``hashicorp/aws`` / ``registry.terraform.io/hashicorp/aws`` -> the last form."""
    parts = source.strip().lower().split("/")
    if len(parts) == 1:
        parts = [DEFAULT_HOST, DEFAULT_NAMESPACE, *parts]
    elif len(parts) == 2:
        parts = [DEFAULT_HOST, *parts]
    if len(parts) != 3 or not all(parts):
        raise OfflineConfigError(f"unrecognised provider source address {source!r}")
    return "/".join(parts)


_EXACT_VERSION = re.compile(r"^=?\s*(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")


def provider_requirements(config: Mapping[str, Any]) -> list[ProviderRequirement]:
    """The providers a stack's ``terraform.required_providers`` asks for.

    A mirror holds concrete versions, so each provider must be pinned to one exact version (cdktf's
    prebuilt bindings always write one); a range would make the offline result depend on
    whatever the mirror happens to contain."""
    required = config.get("terraform", {}).get("required_providers", {})
    found = []
    for local_name, spec in required.items():
        spec = spec if isinstance(spec, Mapping) else {"version": spec}
        source = normalize_source(spec.get("source", local_name))
        match = _EXACT_VERSION.match(str(spec.get("version", "")).strip())
        if not match:
            raise OfflineConfigError(
                f"required_providers.{local_name} ({source}) has version {spec.get('version')!r}; "
                "the offline harness needs one exact version to find it in the mirror")
        found.append(ProviderRequirement(source, match.group(1)))
    return sorted(found)


def mirror_has_provider(root: Path, requirement: ProviderRequirement, platform: str) -> bool:
    """Whether ``root`` is a filesystem mirror holding that provider, unpacked or packed layout."""
    host, namespace, type_ = requirement.source.split("/")
    base = Path(root) / host / namespace / type_
    unpacked = base / requirement.version / platform
    if unpacked.is_dir() and any(p.name.startswith(f"terraform-provider-{type_}") for p in unpacked.iterdir()):
        return True
    return (base / f"terraform-provider-{type_}_{requirement.version}_{platform}.zip").is_file()


def find_provider_mirror(
    requirements: Iterable[ProviderRequirement],
    platform: str,
    environ: Mapping[str, str] = os.environ,
    candidates: Iterable[Path] | None = None,
) -> Path:
    """The first mirror root that holds every requirement.

    ``$TF_PROVIDER_MIRROR`` wins and is the only root tried when set: a developer who points at a
    mirror must hear that it is wrong, not silently get another one."""
    wanted = sorted(set(requirements))
    described = ", ".join(str(r) for r in wanted)
    explicit = environ.get(MIRROR_ENV_VAR)
    if explicit:
        root = Path(explicit).expanduser()
        missing = [r for r in wanted if not mirror_has_provider(root, r, platform)]
        if missing:
            raise HarnessUnavailable(
                f"{MIRROR_ENV_VAR}={explicit} has no {', '.join(map(str, missing))} for {platform} "
                f"(expected e.g. {root / missing[0].source / missing[0].version / platform}/)")
        return root
    searched = list(candidates) if candidates is not None else _standard_mirror_roots()
    for root in searched:
        if root.is_dir() and all(mirror_has_provider(root, r, platform) for r in wanted):
            return root
    raise HarnessUnavailable(
        f"no filesystem mirror with {described} ({platform}); set {MIRROR_ENV_VAR} "
        f"(searched: {', '.join(str(r) for r in searched)})")


def write_cli_config(path: Path, mirror_root: Path, sources: Iterable[str]) -> Path:
    """A CLI config that installs ``sources`` from the mirror and nothing from anywhere else.

    There is deliberately no ``direct {}`` block: a provider outside the mirror fails ``init``
    at once instead of trying the network. ``plugin_cache_may_break_dependency_lock_file`` lets a
    fresh scratch directory (no lock file yet) reuse the shared plugin cache; the lock files it
    writes only live in scratch directories."""
    includes = ", ".join(json.dumps(s) for s in sorted(set(sources)))
    path.write_text(
        "# Written by tests/terraform_harness.py: providers from the local mirror only.\n"
        "plugin_cache_may_break_dependency_lock_file = true\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror_root))}\n"
        f"    include = [{includes}]\n"
        "  }\n"
        "}\n")
    return path


# --------------------------------------------------------------------------------------------
# random_* swap
# --------------------------------------------------------------------------------------------

# Attributes whose type is not a string: the placeholder must have the right type or the
# consumer's type check (e.g. a port number) would fail for a reason the real stack does not have.
_NON_STRING_ATTRIBUTES: Mapping[tuple[str, str], tuple[str, Any]] = {
    ("random_integer", "result"): ("number", 1),
    ("random_shuffle", "result"): ("list(string)", [PLACEHOLDER]),
}
# Sensitive in the random provider's schema: the variable stays sensitive so Terraform still
# insists that outputs exposing it are marked sensitive.
_SENSITIVE_ATTRIBUTES = frozenset({("random_password", "result"), ("random_password", "bcrypt_hash"),
                                   ("random_password", "")})  # "": the whole object

_RANDOM_REF = re.compile(
    r"(?<![\w.\-])(?P<type>random_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w\-]*)"
    r"(?P<index>\[[^\]]*\])?(?:\.(?P<attr>[A-Za-z_][\w\-]*))?")


def expression_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` ranges of ``text`` that are expression code, not literal template text.

    A JSON-syntax Terraform string is a template: only what is inside ``${ }`` / ``%{ }`` is
    code; ``$${`` is an escaped literal. Inside code, quoted strings are templates again (and can
    hold their own ``${ }``), and ``{ }`` object braces nest. Heredocs and comments inside
    expressions are not handled (cdktf does not write them)."""
    spans: list[tuple[int, int]] = []
    # Frames: ["template"] (the JSON string), ["string"] (quoted, inside code) or
    # ["expr", brace_depth, span_start].
    stack: list[list[Any]] = [["template"]]
    i, n = 0, len(text)
    while i < n:
        frame = stack[-1]
        if frame[0] in ("template", "string"):
            if frame[0] == "string" and text[i] == "\\":
                i += 2
                continue
            if frame[0] == "string" and text[i] == '"':
                stack.pop()
                stack[-1][2] = i + 1  # back in the enclosing expression
                i += 1
                continue
            if text.startswith(("$${", "%%{"), i):
                i += 3
                continue
            if text.startswith(("${", "%{"), i):
                stack.append(["expr", 0, i + 2])
                i += 2
                continue
            i += 1
            continue
        char = text[i]
        if char == '"':
            spans.append((frame[2], i))
            stack.append(["string"])
        elif char == "{":
            frame[1] += 1
        elif char == "}":
            if frame[1] == 0:
                spans.append((frame[2], i))
                stack.pop()
            else:
                frame[1] -= 1
        i += 1
    for frame in stack:  # unterminated code runs to the end: scan it rather than miss a reference
        if frame[0] == "expr":
            spans.append((frame[2], n))
    return sorted((s, e) for s, e in spans if e > s)


def _rewrite_code(text: str, rewrite: Callable[[str], str]) -> str:
    spans = expression_spans(text)
    if not spans:
        return text
    out, pos = [], 0
    for start, end in spans:
        out += [text[pos:start], rewrite(text[start:end])]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _strings(node: Any) -> Iterator[str]:
    """Every string value and key in a JSON tree, skipping cdktf's ``"//"`` comment objects."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key == "//":
                continue
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def random_references(config: Any) -> list[str]:
    """Every reference to a ``random_*`` resource left in expression code anywhere in ``config``."""
    found = []
    for text in _strings(config):
        for start, end in expression_spans(text):
            found += [m.group(0) for m in _RANDOM_REF.finditer(text, start, end)]
    return found


@dataclass
class RandomSwap:
    """Result of :func:`swap_random_resources`: the rewritten config and what was given up."""

    config: dict
    swapped: list[str]  # resource addresses removed, e.g. "random_password.db"
    variables: dict[str, str]  # generated variable name -> the reference it stands for


def swap_random_resources(config: Mapping[str, Any]) -> RandomSwap:
    """Replace every ``random_*`` resource by variables with placeholder defaults.

    The hashicorp/random provider is not in the offline mirror, so a stack using it cannot even
    ``init``. Its values are unknowable at plan time anyway, so a string placeholder loses little:
    what is lost (and listed in ``swapped``) is the random resources' own argument checking.
    Each distinct reference (``random_password.db.result``, ``random_id.x[0].hex``...) gets its
    own ``var.offline_...``, typed and marked sensitive like the attribute it replaces.
    ``depends_on`` / ``replace_triggered_by`` entries naming a swapped resource are dropped.
    The input is not modified."""
    config = copy.deepcopy(dict(config))
    terraform = config.get("terraform", {})
    required = terraform.get("required_providers", {})
    random_names = {name for name, spec in required.items()
                    if normalize_source(spec.get("source", name) if isinstance(spec, Mapping) else name)
                    == RANDOM_SOURCE}
    random_names.add("random")
    for name in random_names:
        required.pop(name, None)
        config.get("provider", {}).pop(name, None)
    if "provider" in config and not config["provider"]:
        del config["provider"]

    def is_random_type(tf_type: str) -> bool:
        return any(tf_type.startswith(f"{name}_") for name in random_names)

    swapped: list[str] = []
    resources = config.get("resource", {})
    for tf_type in [t for t in resources if is_random_type(t)]:
        swapped += [f"{tf_type}.{name}" for name in resources.pop(tf_type) if name != "//"]
    if "resource" in config and not config["resource"]:
        del config["resource"]
    if not swapped:
        return RandomSwap(config, [], {})

    swapped_set = set(swapped)
    variables: dict[str, dict] = {}
    by_reference: dict[str, str] = {}

    def variable_for(match: re.Match) -> str:
        ref = match.group(0)
        if f"{match['type']}.{match['name']}" not in swapped_set:
            return ref
        if ref not in by_reference:
            base = "offline_" + re.sub(r"[^A-Za-z0-9_]+", "_", ref).strip("_")
            name, n = base, 1
            while name in variables or name in config.get("variable", {}):
                n += 1
                name = f"{base}_{n}"
            key = (match["type"], match["attr"] or "")
            tf_type, default = _NON_STRING_ATTRIBUTES.get(key, ("string", PLACEHOLDER))
            variables[name] = {
                "type": tf_type, "default": default,
                "description": f"offline stand-in for {ref} (random provider not mirrored)",
                **({"sensitive": True} if key in _SENSITIVE_ATTRIBUTES else {}),
            }
            by_reference[ref] = name
        return f"var.{by_reference[ref]}"

    def rewrite(node: Any, key: str | None = None) -> Any:
        if isinstance(node, str):
            return _rewrite_code(node, lambda code: _RANDOM_REF.sub(variable_for, code))
        if isinstance(node, list):
            if key in ("depends_on", "replace_triggered_by"):
                node = [item for item in node if not (isinstance(item, str) and _names_swapped(item, swapped_set))]
            return [rewrite(item) for item in node]
        if isinstance(node, Mapping):
            return {(k if k == "//" else rewrite(k)): (v if k == "//" else rewrite(v, k)) for k, v in node.items()}
        return node

    config = rewrite(config)
    config.setdefault("variable", {}).update(variables)
    return RandomSwap(config, sorted(swapped), {name: ref for ref, name in by_reference.items()})


def _names_swapped(entry: str, swapped: set[str]) -> bool:
    """Whether a ``depends_on``-style entry (``random_id.x`` or ``${random_id.x.id}``) names one."""
    bare = entry.strip()
    if bare.startswith("${") and bare.endswith("}"):
        bare = bare[2:-1].strip()
    match = _RANDOM_REF.match(bare)
    return bool(match) and f"{match['type']}.{match['name']}" in swapped


# --------------------------------------------------------------------------------------------
# ephemeral swap
# --------------------------------------------------------------------------------------------

# core/ephemeral.py ships its module as an asset under this construct id.
EPHEMERAL_PASSWORD_MODULE_MARKER = "/ephemeral-password-module/"
_MODULE_VALUE_REF = re.compile(r"(?<![\w.\-])module\.(?P<name>[A-Za-z_][\w\-]*)\.value\b")


def swap_ephemeral_passwords(config: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """Replace each call of core/ephemeral.py's password module by an ephemeral variable.

    The module's ``ephemeral "aws_secretsmanager_random_password"`` calls Secrets Manager during
    plan, which mock credentials cannot do. An ephemeral, sensitive variable keeps what matters
    offline: Terraform still refuses it anywhere but a write-only argument, a local or another
    ephemeral context, so a generated secret wired into a persisted argument fails the offline
    plan just as it would the real one. Returns the rewritten config and ``variable name ->
    swapped module address``. A top-level ``ephemeral`` block (which would call AWS during plan)
    is refused."""
    config = copy.deepcopy(dict(config))
    if config.get("ephemeral"):
        raise OfflineConfigError(
            f"ephemeral resource(s) {', '.join(sorted(config['ephemeral']))} would call AWS during plan; "
            "only core/ephemeral.py's password module has an offline stand-in")
    modules = config.get("module", {})
    names = {name: "offline_ephemeral_" + re.sub(r"[^A-Za-z0-9_]+", "_", name)
             for name, body in modules.items()
             if name != "//" and EPHEMERAL_PASSWORD_MODULE_MARKER in str(body.get("source", ""))}
    if not names:
        return config, {}
    for name in names:
        modules.pop(name)
    if not modules:
        config.pop("module", None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, str):
            return _rewrite_code(node, lambda code: _MODULE_VALUE_REF.sub(
                lambda m: f"var.{names[m['name']]}" if m["name"] in names else m.group(0), code))
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if isinstance(node, Mapping):
            return {k: (v if k == "//" else rewrite(v)) for k, v in node.items()}
        return node

    config = rewrite(config)
    config.setdefault("variable", {}).update({
        variable: {"type": "string", "default": f"{PLACEHOLDER}-{name}", "sensitive": True, "ephemeral": True,
                   "description": f"offline stand-in for module.{name}.value (an ephemeral password)"}
        for name, variable in names.items()})
    return config, {variable: f"module.{name}" for name, variable in names.items()}


# --------------------------------------------------------------------------------------------
# Offline checks and the override file
# --------------------------------------------------------------------------------------------


def check_data_sources(config: Mapping[str, Any], allowed: Iterable[str] = LOCAL_DATA_SOURCES) -> None:
    """Refuse data sources that would call an API during plan.

    With mock credentials such a read fails (or, with network, is refused by AWS) deep inside the
    plan output; failing here names the data source and says what to do instead."""
    allowed = set(allowed)
    offending = sorted(f"data.{tf_type}.{name}"
                       for tf_type, blocks in config.get("data", {}).items() if tf_type not in allowed
                       for name in blocks if name != "//")
    if offending:
        raise OfflineConfigError(
            f"data source(s) {', '.join(offending)} would call an API during plan, which the offline "
            f"terraform loop cannot do (computed locally and allowed: {', '.join(sorted(allowed))}). "
            "Pass the value in from configuration instead, or give the loop a `terraform test` "
            "mock (mock_provider / override_data) for it.")


def offline_override(config: Mapping[str, Any]) -> dict:
    """The ``zz_offline_override.tf.json`` content for a stack.

    Terraform merges override files into the configuration: a ``backend`` block there replaces
    the stack's whole backend block (s3, or local with a path outside the scratch dir), and each
    provider block merges argument by argument into the block with the same name and alias, so
    the stack's region and default_tags stay. cdktf writes provider blocks as a list (one per
    alias); the override mirrors that list."""
    aws_blocks = config.get("provider", {}).get("aws", [])
    if isinstance(aws_blocks, Mapping):
        aws_blocks = [aws_blocks]
    aliases = [block.get("alias") for block in aws_blocks] or [None]
    providers = [{**({"alias": alias} if alias else {}), **OFFLINE_PROVIDER_ARGUMENTS} for alias in aliases]
    return {"terraform": {"backend": {"local": {}}}, "provider": {"aws": providers}}


def expected_resources(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(type, name)`` of every root-module resource a plan from empty state must create.

    A literal ``count = 0`` or empty ``for_each`` legitimately plans nothing and is left out."""
    expected = set()
    for tf_type, blocks in config.get("resource", {}).items():
        for name, body in blocks.items():
            if name == "//" or body.get("count") == 0 or body.get("for_each") in ({}, []):
                continue
            expected.add((tf_type, name))
    return expected


def discover_stacks(outdir: Path) -> dict[str, Path]:
    """Stack name -> directory of every ``<outdir>/stacks/<name>/cdk.tf.json``."""
    return {p.parent.name: p.parent for p in sorted((Path(outdir) / "stacks").glob(f"*/{STACK_FILE}"))}


# --------------------------------------------------------------------------------------------
# Running terraform
# --------------------------------------------------------------------------------------------


@dataclass
class TerraformRun:
    """One terraform invocation; :meth:`report` is what a failing assertion should show."""

    args: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def report(self, lines: int = 40) -> str:
        """Command, exit code and the tail of stderr and stdout (``-json`` diagnostics as text)."""
        def tail(text: str) -> str:
            kept = text.rstrip().splitlines()[-lines:]
            return "\n".join("    " + line for line in kept) or "    (empty)"

        return (f"$ {' '.join(self.args)}  (in {self.cwd}, exit {self.returncode}, {self.seconds:.1f}s)\n"
                f"  stderr (last {lines} lines):\n{tail(self.stderr)}\n"
                f"  stdout (last {lines} lines):\n{tail(_diagnostics_as_text(self.stdout))}")


def _diagnostics_as_text(stdout: str) -> str:
    """``-json`` output (``validate``'s document or ``plan``'s line stream) as one readable line
    per diagnostic; anything else unchanged."""
    try:
        diagnostics = json.loads(stdout)["diagnostics"]
    except (ValueError, KeyError, TypeError):
        diagnostics = None
    if diagnostics is None:
        messages = json_lines(stdout)
        diagnostics = [m["diagnostic"] for m in messages if m.get("type") == "diagnostic"]
        texts = [m["@message"] for m in messages if m.get("type") == "text"]
        if not diagnostics:
            return stdout
        diagnostics_text = _format_diagnostics(diagnostics)
        return "\n".join([diagnostics_text, *texts])
    return _format_diagnostics(diagnostics) or stdout


def _format_diagnostics(diagnostics: list[dict]) -> str:
    lines = []
    for d in diagnostics:
        where = d.get("range", {})
        place = f"{where.get('filename')}:{where.get('start', {}).get('line')}" if where else "?"
        context = d.get("snippet", {}).get("context") or ""
        detail = " ".join(d.get("detail", "").split())
        lines.append(f"{d.get('severity')}: {d.get('summary')} [{place} {context}] {detail}".rstrip())
    return "\n".join(lines)


@dataclass
class Toolchain:
    """terraform plus the environment every run gets: mirror-only CLI config, shared plugin
    cache, mock AWS credentials and nothing inherited that could reach a real account."""

    terraform: str
    platform: str
    mirror: Path
    cli_config: Path
    plugin_cache: Path
    env: dict[str, str]
    requirements: tuple[ProviderRequirement, ...]  # what the mirror was checked to hold
    # Every init of the session goes through this lock: the first fills the shared plugin cache
    # and Terraform does not promise that concurrent writers to one cache are safe. Init is
    # the cheap step (no provider start); everything after it runs concurrently.
    init_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({r.source for r in self.requirements}))

    @classmethod
    def discover(cls, requirements: Iterable[ProviderRequirement], scratch: Path,
                 environ: Mapping[str, str] = os.environ) -> Toolchain:
        """Raises :class:`HarnessUnavailable` with a reason a developer can act on."""
        requirements = sorted(set(requirements))
        terraform = shutil.which("terraform", path=environ.get("PATH"))
        if not terraform:
            raise HarnessUnavailable("terraform not on PATH")
        probe = subprocess.run([terraform, "version", "-json"], capture_output=True, text=True, timeout=60,
                               env={**_base_env(environ), "CHECKPOINT_DISABLE": "1"})
        try:
            platform = json.loads(probe.stdout)["platform"]
        except (ValueError, KeyError) as error:
            raise HarnessUnavailable(f"`terraform version -json` gave no platform: {probe.stderr[-500:]}") from error
        mirror = find_provider_mirror(requirements, platform, environ)
        scratch.mkdir(parents=True, exist_ok=True)
        plugin_cache = scratch / "plugin-cache"
        plugin_cache.mkdir(exist_ok=True)
        cli_config = write_cli_config(scratch / "offline.tfrc", mirror, {r.source for r in requirements})
        aws_files = scratch / "aws-empty"
        aws_files.write_text("")
        env = {
            **_base_env(environ),
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_PLUGIN_CACHE_DIR": str(plugin_cache),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            # Belt and braces next to the provider override: the SDK's own lookups find only mocks.
            "AWS_ACCESS_KEY_ID": MOCK_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": MOCK_SECRET_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(aws_files),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_files),
        }
        return cls(terraform, platform, mirror, cli_config, plugin_cache, env, tuple(requirements))

    def run(self, args: list[str], cwd: Path, timeout: float = 900) -> TerraformRun:
        if args[:1] == ["init"]:
            with self.init_lock:
                return self._run(args, cwd, timeout)
        return self._run(args, cwd, timeout)

    def _run(self, args: list[str], cwd: Path, timeout: float) -> TerraformRun:
        command = [self.terraform, *args]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as error:
            returncode = -1
            stdout = _text(error.stdout)
            stderr = _text(error.stderr) + f"\n(harness: killed after {timeout}s)"
        return TerraformRun(["terraform", *args], cwd, returncode, stdout, stderr, time.monotonic() - started)


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


_PASSED_THROUGH_TF_VARS = {"TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER"}


def _base_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus anything that could change what terraform does: a real
    AWS profile or keys, TF_VAR_*, TF_CLI_ARGS*, TF_WORKSPACE, TF_DATA_DIR... (TF_LOG* stays so a
    developer can debug)."""
    return {k: v for k, v in environ.items()
            if not k.startswith("AWS_") and (not k.startswith("TF_") or k in _PASSED_THROUGH_TF_VARS)}


# Terraform says this for every child module that carries its own backend block; it is an
# artifact of validating stacks side by side (each stack is a root module when deployed).
CHILD_MODULE_ARTIFACTS = frozenset({"Backend configuration ignored"})


@dataclass
class JointValidation:
    """One ``terraform validate`` over several configurations at once (see :func:`validate_together`)."""

    workdir: Path
    modules: dict[str, str]  # configuration name -> module directory name inside workdir
    init: TerraformRun
    validate: TerraformRun | None = None

    def failure(self) -> str | None:
        """None when validate ran and produced its JSON document (valid or not), else why not."""
        if not self.init.ok:
            return f"`terraform init` of the joint root failed:\n{self.init.report()}"
        try:
            self.result()
        except ValueError:
            return f"`terraform validate -json` gave no JSON document:\n{self.validate.report()}"
        return None

    def result(self) -> dict:
        if self.validate is None:
            raise ValueError("validate did not run")
        return json.loads(self.validate.stdout)

    def diagnostics_for(self, name: str) -> list[dict]:
        """Diagnostics located in ``name``'s files, plus any located in no configuration (no
        range, or the generated root, e.g. a required variable the module call cannot set):
        those could concern anyone, so every configuration owns them. Child-module artifacts
        are left out."""
        prefixes = {module: module + "/" for module in self.modules.values()}

        def owner(diagnostic: dict) -> str | None:
            filename = (diagnostic.get("range") or {}).get("filename", "")
            return next((m for m, prefix in prefixes.items() if filename.startswith(prefix)), None)

        return [d for d in self.result().get("diagnostics", [])
                if d.get("summary") not in CHILD_MODULE_ARTIFACTS and owner(d) in (None, self.modules[name])]

    def report(self, name: str) -> str:
        return f"{name}: " + (_format_diagnostics(self.diagnostics_for(name)) or "(no diagnostics)")


def validate_together(configurations: Mapping[str, Path], workdir: Path, toolchain: Toolchain) -> JointValidation:
    """``terraform validate`` of several configuration directories in ONE terraform run.

    Each directory is copied in as a child module of a generated root, so the provider schema
    is loaded once instead of once per configuration; every diagnostic names its file, which
    :meth:`JointValidation.diagnostics_for` uses to give each configuration its own verdict.
    What a child module cannot show: backend settings (ignored there, see CHILD_MODULE_ARTIFACTS)
    and root-only checks such as variables without a value (validate never needs values).
    Providers must be in the mirror: swap or strip random_* first. A parse error in one
    configuration stops terraform before it validates the others, so callers should include a
    control configuration with a known error and require it to be reported (proof the walk ran)."""
    workdir.mkdir(parents=True, exist_ok=True)
    modules: dict[str, str] = {}
    calls = []
    for index, (name, directory) in enumerate(configurations.items()):
        module = f"m{index}_" + re.sub(r"[^A-Za-z0-9_-]", "_", name)
        shutil.copytree(directory, workdir / module, symlinks=True)
        modules[name] = module
        calls.append(f'module "{module}" {{\n  source = "./{module}"\n}}\n')
    (workdir / "main.tf").write_text("# Written by tests/terraform_harness.py: validate side by side.\n" + "".join(calls))
    joint = JointValidation(workdir, modules, toolchain.run(
        ["init", "-backend=false", "-input=false", "-no-color"], workdir))
    if joint.init.ok:
        joint.validate = toolchain.run(list(COMMANDS["validate"]), workdir)
    return joint


# --------------------------------------------------------------------------------------------
# One stack, end to end
# --------------------------------------------------------------------------------------------

STEPS = ("init", "plan")


@dataclass
class StackRun:
    """Everything the loop learned about one stack. Steps stop at the first failure; asking for a
    later step explains which earlier one failed and why."""

    name: str
    workdir: Path
    config: dict = field(default_factory=dict)  # the cdk.tf.json terraform saw (after the swap)
    swap: RandomSwap | None = None
    problem: str | None = None  # why the stack could not be prepared
    runs: dict[str, TerraformRun] = field(default_factory=dict)

    def failure(self, step: str) -> str | None:
        """None when ``step`` ran and succeeded, else a message for the assertion."""
        if self.problem:
            return f"stack {self.name!r} could not be prepared for the offline loop: {self.problem}"
        if step in self.runs and self.runs[step].ok:
            return None
        for earlier in [*STEPS, *(s for s in self.runs if s not in STEPS)]:
            run = self.runs.get(earlier)
            if run is not None and not run.ok:
                what = "failed" if earlier == step else f"was not run because `terraform {earlier}` failed"
                return f"stack {self.name!r}: `terraform {step}` {what}:\n{run.report()}"
        return f"stack {self.name!r}: `terraform {step}` did not run"

    @property
    def plan_messages(self) -> list[dict]:
        """The machine-readable UI stream of ``plan -json`` (one JSON object per line)."""
        return json_lines(self.runs["plan"].stdout)

    def diagnostics(self, severity: str | None = None) -> list[dict]:
        """Diagnostics plan reported: validation (plan validates first) and planning alike."""
        found = [m["diagnostic"] for m in self.plan_messages if m.get("type") == "diagnostic"]
        return [d for d in found if severity is None or d.get("severity") == severity]

    def planned_changes(self) -> dict[tuple[str, str], str]:
        """``(type, name)`` -> action of every root-module managed resource the plan would change."""
        changes = {}
        for message in self.plan_messages:
            if message.get("type") != "planned_change":
                continue
            resource = message["change"]["resource"]
            if resource.get("module") or resource["addr"].startswith("data."):
                continue
            changes[(resource["resource_type"], resource["resource_name"])] = message["change"]["action"]
        return changes

    def data_sources_read(self) -> set[str]:
        """Types of the data sources plan read (``plan -json`` reports each read as a hook)."""
        return {m["hook"]["resource"]["resource_type"] for m in self.plan_messages
                if m.get("type") == "apply_complete" and m["hook"].get("action") == "read"}

    @property
    def plan_json(self) -> dict:
        """``terraform show -json`` of the saved plan (only when the ``show`` step was run)."""
        return json.loads(self.runs["show"].stdout)

    def plan_warnings(self) -> list[str]:
        """Warning headlines (provider deprecations and the like), with their detail."""
        return [f"{d.get('summary')}: {' '.join(d.get('detail', '').split())}".rstrip(": ")
                for d in self.diagnostics("warning")]


def json_lines(text: str) -> list[dict]:
    """Parse a ``-json`` UI stream; a line that is not JSON (a crash, a panic) is kept as text."""
    messages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            messages.append(json.loads(line))
        except ValueError:
            messages.append({"type": "text", "@message": line})
    return messages


def prepare_stack(stack_dir: Path, workdir: Path, mirrored_sources: Iterable[str]) -> StackRun:
    """Copy a synthesized stack into ``workdir`` and make it plannable offline (no terraform yet)."""
    name = Path(stack_dir).name
    run = StackRun(name, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        original = json.loads((Path(stack_dir) / STACK_FILE).read_text())
        swap = swap_random_resources(original)
        left = random_references(swap.config)
        if left:
            raise OfflineConfigError(f"random_* references the swap could not rewrite: {sorted(set(left))}")
        swap.config, ephemeral_variables = swap_ephemeral_passwords(swap.config)
        swap.swapped += sorted(ephemeral_variables.values())
        swap.variables.update(ephemeral_variables)
        check_data_sources(swap.config)
        mirrored = set(mirrored_sources)
        missing = [str(r) for r in provider_requirements(swap.config) if r.source not in mirrored]
        if missing:
            raise OfflineConfigError(
                f"provider(s) {', '.join(missing)} are not installable offline (mirrored: "
                f"{', '.join(sorted(mirrored))}); add them to the mirror or extend the harness's swap")
    except OfflineConfigError as error:
        run.problem = str(error)
        return run
    run.config, run.swap = swap.config, swap
    (workdir / STACK_FILE).write_text(json.dumps(swap.config, indent=2))
    (workdir / OVERRIDE_FILE).write_text(json.dumps(offline_override(swap.config), indent=2))
    assets = Path(stack_dir) / "assets"
    if assets.is_dir():
        shutil.copytree(assets, workdir / "assets", symlinks=True, dirs_exist_ok=True)
    return run


# Every terraform command starts the ~700 MB aws provider and loads its schema (about 2 s of CPU
# on this machine kind), so the loop runs as few as it can: ``plan`` validates the configuration
# first and its ``-json`` stream carries the diagnostics, every planned change and every data
# source read, so neither a separate ``validate`` nor a ``show -json`` is needed per stack.
COMMANDS: Mapping[str, tuple[str, ...]] = {
    "init": ("init", "-input=false", "-no-color"),
    "plan": ("plan", "-json", "-input=false", "-no-color", "-lock=false", "-refresh=false", f"-out={PLAN_FILE}"),
    "validate": ("validate", "-json", "-no-color"),
    "show": ("show", "-json", "-no-color", PLAN_FILE),
}


def run_steps(result: StackRun, toolchain: Toolchain, steps: Iterable[str] = STEPS) -> StackRun:
    """Run ``steps`` in the stack's workdir, in order, unless an earlier step already failed."""
    for step in steps:
        if result.problem or any(not run.ok for run in result.runs.values()):
            break
        result.runs[step] = toolchain.run(list(COMMANDS[step]), result.workdir)
    return result


def run_stack(stack_dir: Path, workdir: Path, toolchain: Toolchain, steps: Iterable[str] = STEPS) -> StackRun:
    """prepare -> init -> plan -json (and any extra ``steps``), stopping at the first failure."""
    return run_steps(prepare_stack(stack_dir, workdir, toolchain.sources), toolchain, steps)


def run_stacks(stacks: Mapping[str, Path], workdir_for: Callable[[str], Path], toolchain: Toolchain,
               jobs: int = 1) -> dict[str, StackRun]:
    """:func:`run_stack` for several stacks, ``jobs`` at a time.

    Almost all the time goes into terraform starting the ~700 MB aws provider and loading its
    schema, once per command and stack; that is CPU-bound and independent between stacks, so it
    parallelises (``init`` is serialised by the toolchain's lock). ``workdir_for`` is called in
    the calling thread."""
    results = {name: prepare_stack(stack_dir, workdir_for(name), toolchain.sources)
               for name, stack_dir in stacks.items()}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(lambda result: run_steps(result, toolchain), results.values()))
    return results
