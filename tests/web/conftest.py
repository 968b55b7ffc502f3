"""Fixtures for the REST API and console: the app on the test cluster, accounts and their tokens."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from ksserver.services import Cluster, accounts
from ksserver.web import create_app


@dataclass
class Accounts:
    admin: str          # API token of user alice (admin)
    reader: str         # API token of user rita (readonly)
    init_token: str     # the admin token `rocks init` wrote


@pytest.fixture
def web_app(cluster, settings):
    settings = dataclasses.replace(settings, reload_interval=0.0)
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["ksserver"].db.dispose()


@pytest.fixture
def web_cluster(web_app) -> Cluster:
    return web_app.extensions["ksserver"].cluster


@pytest.fixture
def tokens(web_cluster: Cluster, settings) -> Accounts:
    accounts.add_user(web_cluster, "alice", "admin", "alice-password")
    accounts.add_user(web_cluster, "rita", "readonly", "rita-password")
    return Accounts(accounts.add_user_token(web_cluster, "alice"), accounts.add_user_token(web_cluster, "rita"),
                    (settings.root / "admin-token").read_text().strip())
