"""The kickstart endpoint's query parsing: the plain fast path gives what parse_qs gives."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from ksserver.web.kickstart import parse_query


@pytest.mark.parametrize("qs", ["", "arch=x86_64&np=1", "arch=x86_64&arch=i386", "np", "np=&arch=", "&&arch=a&",
                                "a=b=c", "token=abc%2Fdef&np=2", "client=a+b", "=x", "arch=x86_64;np=1",
                                "token=%ZZ", "x=%E2%82%AC"])
def test_parse_query_is_parse_qs(qs):
    assert parse_query(qs) == parse_qs(qs, keep_blank_values=True)
