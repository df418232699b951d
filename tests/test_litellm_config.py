"""core/litellm_config.py: the LiteLLM config file check (names supplied, no literal secrets, pool)."""

from __future__ import annotations

import textwrap

import pytest

from core import db_capacity
from core.litellm_config import (
    DEFAULT_CONFIG_FILE,
    LITELLM_DEFAULT_POOL_LIMIT,
    PLATFORM_VARIABLES,
    check_declared,
    check_file,
    provider_key_shape,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.filterwarnings("error")

# Obviously fake values with the shapes the check must catch.
FAKE_OPENAI = "sk-proj-FAKEFAKEFAKEFAKEFAKE"
FAKE_ANTHROPIC = "sk-ant-FAKEFAKEFAKEFAKEFAKE"
FAKE_AWS_KEY_ID = "AKIA" + "FAKE" * 4  # assembled, so repository key scanners do not flag the file
FAKE_GOOGLE = "AIza" + "FAKE" * 8 + "FAK"


def check(tmp_path, text: str, supplied=PLATFORM_VARIABLES):
    path = tmp_path / "litellm.yaml"
    path.write_text(textwrap.dedent(text))
    return check_file(path, supplied)


def test_the_shipped_default_config_passes_with_only_the_platform_variables():
    result = check_file(ROOT / DEFAULT_CONFIG_FILE, PLATFORM_VARIABLES)
    assert result.problems == ()
    assert result.pool_limit >= 1


def test_an_unsupplied_environment_name_is_named_with_its_yaml_path(tmp_path):
    result = check(tmp_path, """
        model_list:
          - model_name: gpt
            litellm_params:
              model: openai/gpt-4o-mini
              api_key: os.environ/OPENAI_API_KEY
    """)
    (problem,) = result.problems
    assert problem.startswith("model_list[0].litellm_params.api_key: os.environ/OPENAI_API_KEY is not set")
    assert "litellm_secrets" in problem


def test_a_supplied_name_passes(tmp_path):
    result = check(tmp_path, """
        model_list:
          - model_name: gpt
            litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
    """, supplied=PLATFORM_VARIABLES | {"OPENAI_API_KEY"})
    assert result.problems == ()


@pytest.mark.parametrize("value", [FAKE_OPENAI, FAKE_ANTHROPIC, FAKE_AWS_KEY_ID, FAKE_GOOGLE])
def test_a_provider_key_shaped_string_is_refused_wherever_it_is(tmp_path, value):
    result = check(tmp_path, f"""
        litellm_settings:
          callbacks: ["langfuse"]
          extra_headers: ["Authorization: Bearer {value}"]
    """)
    (problem,) = result.problems
    assert problem.startswith("litellm_settings.extra_headers[0]: holds ")
    assert value not in problem  # the message never repeats the secret


@pytest.mark.parametrize("key", ["api_key", "master_key", "redis_password", "aws_secret_access_key", "database_url"])
def test_a_literal_credential_is_refused_by_its_key(tmp_path, key):
    result = check(tmp_path, f"""
        general_settings:
          {key}: not-a-real-value
    """)
    (problem,) = result.problems
    assert problem.startswith(f"general_settings.{key}: a literal credential")
    assert "not-a-real-value" not in problem


def test_ordinary_values_are_not_mistaken_for_secrets(tmp_path):
    result = check(tmp_path, """
        model_list:
          - model_name: sk-router
            litellm_params: {model: openai/gpt-4o-mini, api_base: "https://api.example.com/v1", max_tokens: 4096}
        general_settings:
          master_key: os.environ/LITELLM_MASTER_KEY
          api_key: ""
    """)
    assert result.problems == ()
    assert provider_key_shape("openai/gpt-4o-mini") is None
    assert provider_key_shape("task-sk-short") is None


@pytest.mark.parametrize("text, fragment", [
    ("model_list: [\n", "(file): invalid YAML"),
    ("", "(file): must be a YAML mapping"),
    ("- a\n- b\n", "(file): must be a YAML mapping"),
])
def test_a_file_litellm_cannot_load_is_refused(tmp_path, text, fragment):
    (problem,) = check(tmp_path, text).problems
    assert problem.startswith(fragment)


def test_pool_limit_defaults_to_litellms_and_is_read_when_set(tmp_path):
    assert check(tmp_path, "model_list: []\n").pool_limit == LITELLM_DEFAULT_POOL_LIMIT == 10
    assert check(tmp_path, "general_settings:\n  database_connection_pool_limit: 4\n").pool_limit == 4


@pytest.mark.parametrize("value", ["0", "ten", "2.5", "true"])
def test_a_pool_limit_that_is_not_a_positive_integer_is_refused(tmp_path, value):
    (problem,) = check(tmp_path, f"general_settings:\n  database_connection_pool_limit: {value}\n").problems
    assert problem.startswith("general_settings.database_connection_pool_limit: ")


def test_an_undeclared_variable_fails_the_synth():
    with pytest.raises(AssertionError, match="sets NEW_VARIABLE, which core/litellm_config.py does not declare"):
        check_declared("modules/x.py", {"PORT", "NEW_VARIABLE"}, frozenset({"PORT"}))
    check_declared("modules/x.py", {"PORT"}, frozenset({"PORT"}))


@pytest.mark.parametrize("instance_class, expected", [
    ("db.t4g.micro", 112), ("db.t4g.medium", 450), ("db.r6g.8xlarge", 5000), ("db.m7g.2xlarge", 3604),
])
def test_default_max_connections_follows_the_rds_formula(instance_class, expected):
    assert db_capacity.default_max_connections(instance_class) == expected
    assert db_capacity.usable_connections(instance_class) == int(expected * 0.8)


def test_names_the_config_sets_itself_count_as_supplied_but_not_their_secrets(tmp_path):
    result = check(tmp_path, """
        environment_variables:
          OPENAI_BASE_URL: https://api.example.com/v1
          OPENAI_API_KEY: not-a-real-key
        model_list:
          - model_name: gpt
            litellm_params: {model: openai/gpt-4o-mini, api_base: os.environ/OPENAI_BASE_URL}
    """)
    assert result.problems == ("environment_variables.OPENAI_API_KEY: a literal credential; write "
                               "os.environ/<NAME> and map <NAME> to its Secrets Manager ARN in litellm_secrets",)
