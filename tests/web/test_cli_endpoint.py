"""POST /cli/v1/run, where the rocks client delegates: who may call it, what it runs, what it refuses."""

from __future__ import annotations

import json

import pytest

from ksserver.cli.client import ENDPOINT, PROTOCOL, settings_fingerprint
from ksserver.services import accounts
from ksserver.web.cli_endpoint import MAX_BODY


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _post(app, argv, token=None, remote="127.0.0.1",  # type: ignore[no-untyped-def]
          fingerprint=None, raw=None):
    body = raw if raw is not None else json.dumps({
        "protocol": PROTOCOL, "argv": argv,
        "settings": fingerprint or settings_fingerprint(app.extensions["ksserver"].settings)})
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post(ENDPOINT, data=body, headers=headers, content_type="application/json",
                                  environ_base={"REMOTE_ADDR": remote})


def _hosts(app) -> list[str]:  # type: ignore[no-untyped-def]
    from ksserver.services import hosts

    return [h.name for h in hosts.list_hosts(app.extensions["ksserver"].cluster, [])]


def test_runs_the_command_and_audits_its_write(web_app, tokens):
    answer = _post(web_app, ["add", "host", "compute-0-7", "rack=0", "cpus=4"], tokens.init_token)
    assert answer.status_code == 200
    assert answer.json == {"exit": 0, "stdout": "added host compute-0-7\n", "stderr": ""}
    assert "compute-0-7" in _hosts(web_app)
    audit = accounts.list_audit(web_app.extensions["ksserver"].cluster)[-1]
    assert (audit.actor, audit.action, audit.target, audit.detail) == \
        ("token:admin", "rocks add host", "compute-0-7", "cpus rack")
    again = _post(web_app, ["add", "host", "compute-0-7"], tokens.init_token).json
    assert again["exit"] != 0 and again["stdout"] == ""
    assert again["stderr"] == "error: host 'compute-0-7' already exists\n"


def test_no_token_is_401_and_nothing_runs(web_app, tokens):
    answer = _post(web_app, ["add", "host", "compute-0-8"])
    assert answer.status_code == 401 and "Bearer" in answer.headers["WWW-Authenticate"]
    assert "compute-0-8" not in _hosts(web_app)


@pytest.mark.parametrize("which", ["wrong", "admin_user", "reader"])
def test_other_tokens_are_403_and_nothing_runs(web_app, tokens, which):
    token = {"wrong": tokens.init_token[:-2] + "xx", "admin_user": tokens.admin,
             "reader": tokens.reader}[which]
    answer = _post(web_app, ["add", "host", "compute-0-8"], token)
    assert answer.status_code == 403
    assert "compute-0-8" not in _hosts(web_app)


def test_a_remote_caller_with_the_token_is_served(web_app, tokens):
    """The token is a bearer secret: where the request comes from neither adds nor removes rights."""
    answer = _post(web_app, ["list", "host", "frontend"], tokens.init_token, remote="10.9.9.9")
    assert answer.json["exit"] == 0
    assert _post(web_app, ["list", "host", "frontend"], "nope", remote="127.0.0.1").status_code == 403


def test_argv_is_data(web_app, tokens, tmp_path):
    marker = tmp_path / "pwned"
    for word in (f"__import__('os').system('touch {marker}')", f"$(touch {marker})", f"`touch {marker}`"):
        answer = _post(web_app, ["add", "host", word], tokens.init_token).json
        assert answer["exit"] != 0 and answer["stderr"].startswith("error: ")
        answer = _post(web_app, ["list", "host", word], tokens.init_token).json
        assert answer["stderr"] == f"error: unknown host {word!r}\n"
    assert not marker.exists()


def test_a_huge_body_is_refused_unread(web_app, tokens):
    argv = ["add", "host", "compute-0-9", "comment=" + "x" * MAX_BODY]
    answer = _post(web_app, argv, tokens.init_token)
    assert answer.status_code == 413
    assert "compute-0-9" not in _hosts(web_app)


@pytest.mark.parametrize("raw", ["not json", "[]", '{"protocol": 1, "argv": "list host"}',
                                 '{"protocol": 1, "argv": [1, 2]}', '{"protocol": 99, "argv": []}'])
def test_malformed_bodies_are_400(web_app, tokens, raw):
    assert _post(web_app, [], tokens.init_token, raw=raw).status_code == 400


@pytest.mark.parametrize("argv", [["serve"], ["set", "password"], ["init"], ["shoot", "node", "compute-0-0"],
                                  ["add", "host", "file=hosts.csv"], ["--debug", "add", "user", "bob"]])
def test_local_commands_are_sent_back(web_app, tokens, argv):
    answer = _post(web_app, argv, tokens.init_token)
    assert answer.status_code == 200 and set(answer.json) == {"local"}, answer.json


def test_other_settings_are_sent_back(web_app, tokens):
    other = dict(settings_fingerprint(web_app.extensions["ksserver"].settings),
                 database_url="sqlite:////elsewhere")
    answer = _post(web_app, ["add", "host", "compute-0-9"], tokens.init_token, fingerprint=other)
    assert set(answer.json) == {"local"}
    assert "compute-0-9" not in _hosts(web_app)
