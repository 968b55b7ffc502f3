"""rocks add|list|remove user, add user token, list audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ksserver.db import audit
from ksserver.db.models import User, UserToken
from ksserver.db.session import Database
from ksserver.errors import HostNotFound
from ksserver.services import Cluster, accounts, attrs


def test_add_user_hashes_the_password_read_from_stdin(cluster, settings):
    result = cluster("add", "user", "alice", "role=admin", stdin="correct horse\n")
    assert result.code == 0, result
    assert cluster("add", "user", "alice", stdin="another one\n").code == 3  # already exists
    assert cluster("add", "user", "bob", stdin="short\n").code == 1          # too short
    assert cluster("add", "user", "bob", "role=root", stdin="long enough\n").code != 0
    token = cluster("add", "user", "token", "alice").out.strip()
    assert len(token) > 30
    listing = cluster("list", "user").out
    assert "alice: admin 1" in listing
    db = Database.from_url(settings.effective_database_url)
    try:
        with db.session() as session:
            user = session.scalar(select(User))
            assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
            assert token not in session.scalar(select(UserToken.token_hash))
        c = Cluster(settings, db)
        assert accounts.authenticate_password(c, "alice", "correct horse").role == "admin"
        assert accounts.authenticate_token(c, token).name == "alice"
    finally:
        db.dispose()
    assert cluster("remove", "user", "alice").code == 0
    assert cluster("list", "user").out == ""


def test_audit_rows_commit_with_the_change_and_only_with_it(cluster, settings):
    db = Database.from_url(settings.effective_database_url)
    c = Cluster(settings, db)
    try:
        with audit.acting("alice", "set host attr", "compute-0-0", "x=1"):
            attrs.set_attr(c, "host", ["compute-0-0"], "x", "1")
        with pytest.raises(HostNotFound), audit.acting("alice", "set host attr", "nohost", "x=1"):
            attrs.set_attr(c, "host", ["nohost"], "x", "1")
    finally:
        db.dispose()
    out = cluster("list", "audit").out.splitlines()
    assert len(out) == 2 and "alice" in out[1] and "set host attr" in out[1] and "compute-0-0" in out[1]
    assert "nohost" not in "".join(out)


def test_demo_makes_one_first_admin_with_a_private_password_file(cluster, settings):
    from ksserver.demo import create_demo_admin

    db = Database.from_url(settings.effective_database_url)
    try:
        c = Cluster(settings, db)
        user, path = create_demo_admin(c)
        password = path.read_text().strip()
        assert path.stat().st_mode & 0o077 == 0 and len(password) >= 12
        assert accounts.authenticate_password(c, user, password).role == "admin"
        assert create_demo_admin(c) == (user, path) and path.read_text().strip() == password  # made once
    finally:
        db.dispose()
