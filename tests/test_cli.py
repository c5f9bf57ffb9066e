"""The eventdeploy command: help on every subcommand, clear errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventdeploy import cli


@pytest.mark.parametrize("argv", [[], ["run"], ["localcloud"], ["localcloud", "start"], ["localcloud", "stop"],
                                  ["localcloud", "status"], ["localcloud", "reset"], ["params"]])
def test_help_on_every_subcommand(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as code:
        cli.main([*argv, "--help"])
    assert code.value.code == 0
    assert "usage: eventdeploy" in capsys.readouterr().out


def test_params_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["params", "parameters/local.yaml"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: mars\n")
    assert cli.main(["params", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "key 'target'" in err


def test_localcloud_status_and_reset_when_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["localcloud", "status", "--state-dir", str(tmp_path)]) == 3
    assert cli.main(["localcloud", "reset", "--state-dir", str(tmp_path)]) == 2
    assert "eventdeploy localcloud start" in capsys.readouterr().err
