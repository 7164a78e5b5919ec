"""``mlflow.yml`` is typed: unknown keys are refused with the closest known key and the file
that holds them, values of the wrong type are refused, and every environment's file passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.tracking.config import MlflowSettings
from fraud_detection.tracking.experiment import project_settings
from fraud_detection.tracking.mlflow_yml import MlflowConfigError, known_keys

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO / "conf").iterdir() if (p / "mlflow.yml").is_file())


def _project(root: Path, local: dict | None = None) -> Path:
    """A project folder with the repository's conf/base/mlflow.yml and ``local`` as
    conf/local/mlflow.yml."""
    (root / "conf" / "base").mkdir(parents=True, exist_ok=True)
    (root / "conf" / "local").mkdir(exist_ok=True)
    shutil.copy(REPO / "conf" / "base" / "mlflow.yml", root / "conf" / "base" / "mlflow.yml")
    if local is not None:
        (root / "conf" / "local" / "mlflow.yml").write_text(yaml.safe_dump(local))
    return root


def _refusal(project: Path, env: str | None = "local") -> str:
    with pytest.raises(MlflowConfigError) as raised:
        project_settings(project, env)
    return str(raised.value)


@pytest.mark.parametrize("env", ENVS)
def test_every_environments_mlflow_yml_is_valid(env):
    settings = project_settings(REPO, env)
    assert settings.experiment_name and settings.registered_model_name


def test_base_settings_keep_their_values(tmp_path):
    settings = project_settings(_project(tmp_path))
    assert settings.enabled and settings.connect_timeout == 5.0
    assert settings.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert settings.role("model") == "fraud_model"
    assert settings.role("reports") == ["raw_validation_report", "evaluation_metrics",
                                        "scoring_report"]
    assert settings.champion == {"metric": "auprc", "min_improvement": 0.0}
    assert settings.log == dict.fromkeys(("params", "datasets", "model", "plots", "register"),
                                         True)


def test_missing_keys_take_the_defaults(tmp_path):
    settings = MlflowSettings.from_config({"enabled": False, "log": None}, tmp_path)
    assert not settings.enabled and settings.experiment_name == "fraud-detection"
    assert settings.registered_model_name == "fraud-detector"
    assert settings.log["register"] is True and settings.role("model") is None
    assert settings.role("reports") == [] and settings.champion["metric"] == "auprc"


def test_a_misspelt_key_names_the_closest_key_and_its_file(tmp_path):
    message = _refusal(_project(tmp_path, {"experiment_nme": "mine"}))
    assert message.startswith("mlflow.yml: unknown key 'experiment_nme' in "
                              "conf/local/mlflow.yml; did you mean 'experiment_name'?")
    assert message.endswith("conf/base/mlflow.yml describes every key of mlflow.yml.")


def test_a_misspelt_nested_key_is_named_by_its_dotted_path(tmp_path):
    message = _refusal(_project(tmp_path, {"roles": {"modle": "m"}, "log": {"plot": False}}))
    assert "unknown key 'roles.modle' in conf/local/mlflow.yml; did you mean 'roles.model'?" \
        in message
    assert "unknown key 'log.plot' in conf/local/mlflow.yml; did you mean 'log.plots'?" \
        in message


def test_an_unknown_key_with_no_close_match_lists_the_keys_beside_it(tmp_path):
    message = _refusal(_project(tmp_path, {"champion": {"zzz": 1}}))
    assert "unknown key 'champion.zzz'" in message
    assert "the keys under 'champion' are champion.metric, champion.min_improvement" in message


@pytest.mark.parametrize(("local", "key", "reason"), [
    ({"enabled": "false"}, "enabled", "valid boolean"),
    ({"connect_timeout": "5"}, "connect_timeout", "valid number"),
    ({"connect_timeout": 0}, "connect_timeout", "greater than 0"),
    ({"experiment_name": ""}, "experiment_name", "at least 1 character"),
    ({"roles": {"reports": "evaluation_metrics"}}, "roles.reports", "valid list"),
    ({"champion": {"min_improvement": ".1"}}, "champion.min_improvement", "valid number"),
    ({"log": {"register": "yes"}}, "log.register", "valid boolean"),
])
def test_a_value_of_the_wrong_type_is_refused_with_its_key_and_file(tmp_path, local, key,
                                                                     reason):
    message = _refusal(_project(tmp_path, local))
    assert f"mlflow.yml: '{key}' = " in message and "in conf/local/mlflow.yml: " in message
    assert reason in message


def test_a_bad_value_in_base_is_traced_to_base(tmp_path):
    project = _project(tmp_path)
    base = project / "conf" / "base" / "mlflow.yml"
    base.write_text(base.read_text().replace("connect_timeout: 5", "connect_timeout: soon"))
    assert "'connect_timeout' = 'soon' in conf/base/mlflow.yml" in _refusal(project)


def _misspellings(key: str) -> st.SearchStrategy[str]:
    """``key`` with one character dropped, doubled, swapped with the next or replaced."""
    letters = st.sampled_from("abcdefghijklmnopqrstuvwxyz_")

    def edit(data: tuple[int, str, int]) -> str:
        at, letter, kind = data
        at %= len(key)
        return [key[:at] + key[at + 1:], key[:at] + key[at] + key[at:],
                key[:at] + key[at + 1:at + 2] + key[at] + key[at + 2:],
                key[:at] + letter + key[at + 1:]][kind]

    return st.tuples(st.integers(0, 100), letters, st.integers(0, 3)).map(edit)


@st.composite
def _misspelt_paths(draw) -> tuple[str, str]:
    """A known dotted key and the same path with its last part misspelt (not another key)."""
    key = draw(st.sampled_from(known_keys()))
    parent, _, last = key.rpartition(".")
    wrong = draw(_misspellings(last).filter(lambda name: name and (
        f"{parent}.{name}" if parent else name) not in known_keys()))
    return key, f"{parent}.{wrong}" if parent else wrong


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=_misspelt_paths())
def test_any_misspelt_key_is_refused_naming_it_and_its_file(tmp_path, paths):
    _, wrong = paths
    *parents, last = wrong.split(".")
    local: dict = {last: 1}
    for part in reversed(parents):
        local = {part: local}
    message = _refusal(_project(tmp_path, local))
    assert f"mlflow.yml: unknown key '{wrong}' in conf/local/mlflow.yml; " in message
    assert "did you mean" in message or "the keys" in message
