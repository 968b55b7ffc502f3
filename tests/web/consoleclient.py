"""Driving the console with Flask's test client: log in (with the login form's own token), read CSRF tokens."""

from __future__ import annotations

import re

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client, user: str, password: str, next_page: str = "/console/hosts"):  # type: ignore[no-untyped-def]
    form = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="login_token" value="([^"]+)"', form)[1]
    return client.post("/console/login", data={"user": user, "password": password, "login_token": token,
                                               "next": next_page})


def csrf(client, page: str = "/console/hosts") -> str:  # type: ignore[no-untyped-def]
    return CSRF_RE.search(client.get(page).get_data(as_text=True))[1]
