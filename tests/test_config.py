"""Settings: defaults < TOML file < KSSERVER_* environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksserver.config import ConfigError, load_settings


def test_defaults_and_sqlite_url(tmp_path):
    settings = load_settings(environ={"KSSERVER_ROOT": str(tmp_path)})
    assert settings.root == tmp_path
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/cluster.db"
    assert settings.site_profile_dir == tmp_path / "site-profiles" / "1"
    assert settings.worker_class == "sync" and settings.evals is False  # only when the admin enables them


def test_file_then_environment_then_overrides(tmp_path):
    config = tmp_path / "ksserver.toml"
    config.write_text('[ksserver]\nworkers = 4\nevals = false\ntrusted_proxies = ["10.1.1.1", "10.1.1.2"]\n'
                      'database_url = "postgresql+psycopg://ks@db:5432/cluster"\n')
    env = {"KSSERVER_CONFIG": str(config), "KSSERVER_WORKERS": "6", "KSSERVER_EVAL_TIMEOUT": "2.5"}
    settings = load_settings(environ=env)
    assert settings.workers == 6 and settings.evals is False and settings.eval_timeout == 2.5
    assert settings.trusted_proxies == ("10.1.1.1", "10.1.1.2")
    assert settings.effective_database_url == "postgresql+psycopg://ks@db:5432/cluster"
    assert load_settings(environ=env, workers=1).workers == 1
    assert load_settings(environ={"KSSERVER_TRUSTED_PROXIES": "a, b,"}).trusted_proxies == ("a", "b")


@pytest.mark.parametrize("text, message", [
    ("colour = 'blue'\n", "unknown setting 'colour'"),
    ("workers = 'many'\n", "setting workers"),
    ("evals = 'perhaps'\n", "expected true/false"),
    ("workers = [\n", "config file"),
    ("worker_class = 'eventlet'\n", "worker_class must be sync or gthread"),
    ("workers = 0\n", "at least 1"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"KSSERVER_CONFIG": str(tmp_path / "nope.toml")})
