"""Settings from the environment; no secret anybody else knows, ever."""

from __future__ import annotations

import os
import runpy
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from latepoint_forms.config import instance_secret_key, load_config


def test_development_has_no_built_in_secret() -> None:
    config = load_config({})
    assert config["ENV_NAME"] == "development"
    assert config["SECRET_KEY"] is None  # the factory takes one from the instance folder


PUBLIC = "https://book.example.com"


@pytest.mark.parametrize("environment", ["production", "staging", ""])
def test_outside_development_a_secret_key_is_required(environment: str) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        load_config({"LATEPOINT_ENV": environment})
    config = load_config({"LATEPOINT_ENV": environment, "SECRET_KEY": "s3", "PUBLIC_URL": PUBLIC})
    assert config["SECRET_KEY"] == "s3"


def test_production_cookies_are_secure() -> None:
    config = load_config({"LATEPOINT_ENV": "production", "SECRET_KEY": "s3", "PUBLIC_URL": PUBLIC})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True


def test_instance_secret_is_random_private_and_stable(tmp_path: Path) -> None:
    first = instance_secret_key(str(tmp_path / "a"))

    assert len(first) == 64
    assert int(first, 16) >= 0
    assert instance_secret_key(str(tmp_path / "a")) == first
    assert instance_secret_key(str(tmp_path / "b")) != first
    mode = stat.S_IMODE(os.stat(tmp_path / "a" / "secret_key").st_mode)
    assert mode == 0o600
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["secret_key"]


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    folder = str(tmp_path / "instance")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: instance_secret_key(folder), range(32)))
    assert len(keys) == 1


def test_gunicorn_serves_as_production_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_file = Path(__file__).parent.parent / "gunicorn.conf.py"
    monkeypatch.delenv("LATEPOINT_ENV", raising=False)
    runpy.run_path(str(config_file))
    assert os.environ["LATEPOINT_ENV"] == "production"

    monkeypatch.setenv("LATEPOINT_ENV", "staging")
    runpy.run_path(str(config_file))
    assert os.environ["LATEPOINT_ENV"] == "staging"


def test_an_empty_key_file_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="holds no usable key: delete it"):
        instance_secret_key(str(folder))


def test_without_hard_links_the_key_is_still_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: str, target: str) -> None:
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_links)
    key = instance_secret_key(str(tmp_path / "instance"))
    assert len(key) == 64
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == ["secret_key"]


def test_the_cancel_cutoff_is_hours_and_never_negative() -> None:
    assert load_config({})["CANCEL_CUTOFF_HOURS"] == 2
    assert load_config({"CANCEL_CUTOFF_HOURS": "0"})["CANCEL_CUTOFF_HOURS"] == 0
    with pytest.raises(RuntimeError, match="CANCEL_CUTOFF_HOURS must be 0 or more"):
        load_config({"CANCEL_CUTOFF_HOURS": "-1"})
    with pytest.raises(RuntimeError, match="CANCEL_CUTOFF_HOURS must be an integer"):
        load_config({"CANCEL_CUTOFF_HOURS": "two"})


def test_production_requires_a_public_url() -> None:
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be set"):
        load_config({"LATEPOINT_ENV": "production", "SECRET_KEY": "s3"})
    assert load_config({})["PUBLIC_URL"] == "http://127.0.0.1:5000"  # development's default
    config = load_config(
        {"LATEPOINT_ENV": "production", "SECRET_KEY": "s3", "PUBLIC_URL": "https://b.example/"}
    )
    assert config["PUBLIC_URL"] == "https://b.example"


@pytest.mark.parametrize(
    "url", ["b.example", "ftp://b.example", "https://", "https://b.example/?x=1", "/path"]
)
def test_a_public_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(RuntimeError, match="PUBLIC_URL must be an absolute http"):
        load_config({"PUBLIC_URL": url})
