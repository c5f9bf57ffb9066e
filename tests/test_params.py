"""Parameter files and notebook parameters: valid sets load, every bad input names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eventdeploy import params

ROOT = Path(__file__).resolve().parent.parent
PARAM_FILES = sorted((ROOT / "parameters").glob("*.yaml"))


def _write(tmp_path: Path, data: dict, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _local() -> dict:
    return yaml.safe_load((ROOT / "parameters" / "local.yaml").read_text())


@pytest.mark.parametrize("path", PARAM_FILES, ids=lambda p: p.name)
def test_shipped_parameter_files_are_valid(path: Path) -> None:
    loaded = params.load(path)
    assert loaded.home.account_id in loaded.allowed_account_ids


def test_the_four_sets_exist() -> None:
    assert {p.name for p in PARAM_FILES} >= {"local.yaml", "ci.yaml", "training.yaml", "aws.example.yaml"}


def test_unknown_key_names_file_key_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, _local() | {"regoin": "us-east-1"})
    with pytest.raises(params.ParameterError) as err:
        params.load(path)
    text = str(err.value)
    assert str(path) in text and "'regoin'" in text and "unknown key" in text and "region" in text


def test_wrong_type_names_key_and_expected_value(tmp_path: Path) -> None:
    path = _write(tmp_path, _local() | {"localcloud_port": "four"})
    with pytest.raises(params.ParameterError) as err:
        params.load(path)
    assert err.value.problems[0][0] == "localcloud_port"
    assert "'four'" in str(err.value) and "TCP port" in str(err.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, _local() | {"target": "lokal", "region": "mars-1", "prefix": "EVD"})
    with pytest.raises(params.ParameterError) as err:
        params.load(path)
    assert {k for k, _ in err.value.problems} == {"target", "region", "prefix"}


def test_missing_file_lists_what_is_there(tmp_path: Path) -> None:
    _write(tmp_path, _local(), "local.yaml")
    with pytest.raises(params.ParameterError) as err:
        params.load(tmp_path / "lcoal.yaml")
    assert "no such parameter file" in str(err.value) and "local.yaml" in str(err.value)


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: [local\n")
    with pytest.raises(params.ParameterError, match="not valid YAML"):
        params.load(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(params.ParameterError, match="mapping"):
        params.load(bad)


def test_account_not_allowed_names_the_account_key(tmp_path: Path) -> None:
    data = _local()
    data["allowed_account_ids"] = ["123456789012"]
    with pytest.raises(params.ParameterError) as err:
        params.load(_write(tmp_path, data))
    assert err.value.problems[0][0] == "accounts.workload.account_id"
    assert "210987654321" in err.value.problems[0][1] and "allowed_account_ids" in err.value.problems[0][1]


def test_account_id_must_be_twelve_digits_and_role_in_same_account(tmp_path: Path) -> None:
    data = _local()
    data["accounts"]["workload"]["role_arn"] = "arn:aws:iam::999999999999:role/X"
    with pytest.raises(params.ParameterError, match="is in account 999999999999"):
        params.load(_write(tmp_path, data))
    data = _local()
    data["accounts"]["tooling"]["account_id"] = 12345
    with pytest.raises(params.ParameterError) as err:
        params.load(_write(tmp_path, data))
    assert err.value.problems[0][0] == "accounts.tooling.account_id"


def test_home_account_must_be_named_and_profile_only_for_aws(tmp_path: Path) -> None:
    with pytest.raises(params.ParameterError) as err:
        params.load(_write(tmp_path, _local() | {"home_account": "nope"}))
    assert err.value.problems[0][0] == "home_account"
    with pytest.raises(params.ParameterError) as err:
        params.load(_write(tmp_path, _local() | {"profile": "dev"}))
    assert err.value.problems[0][0] == "profile"


def test_empty_profile_means_default_chain() -> None:
    assert params.validate({"profile": ""}, "nb").profile is None


def test_notebook_values_round_trip() -> None:
    loaded = params.load(ROOT / "parameters" / "local.yaml")
    assert params.validate(loaded.as_notebook_parameters(), "nb") == loaded
