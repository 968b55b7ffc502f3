"""services.hostviews: paged and filtered host table, host detail, version-guarded updates."""

from __future__ import annotations

import pytest

from ksserver.errors import Conflict, HostNotFound, InvalidArgument
from ksserver.inventory.hosts import HostRequest
from ksserver.services import attrs, boot, hosts
from ksserver.services.hostviews import (
    HostQuery,
    HostUpdate,
    PreconditionRequired,
    host_detail,
    query_hosts,
    update_host,
)


def test_paging_and_filters_happen_in_the_query(svc):
    for rank in range(2, 12):
        hosts.add_host(svc, HostRequest(name=f"compute-1-{rank}", rack=1, rank=rank))
    page = query_hosts(svc, HostQuery(page=2, per_page=5))
    assert page.total == 14 and len(page.hosts) == 5
    names = [h.name for p in (1, 2, 3) for h in query_hosts(svc, HostQuery(page=p, per_page=5)).hosts]
    assert len(names) == 14 == len(set(names))
    assert query_hosts(svc, HostQuery(rack=1)).total == 10
    assert [h.name for h in query_hosts(svc, HostQuery(search="52:54:00:00:01:01")).hosts] == ["compute-0-1"]
    assert query_hosts(svc, HostQuery(appliance="frontend")).hosts[0].name == "frontend"
    assert query_hosts(svc, HostQuery(search="%")).total == 0     # a wildcard is a literal character
    boot.set_boot(svc, ["compute-0-1"], "install")
    assert [h.name for h in query_hosts(svc, HostQuery(boot="install")).hosts] == ["compute-0-1"]
    assert query_hosts(svc, HostQuery(boot="os")).total == 13
    with pytest.raises(InvalidArgument):
        query_hosts(svc, HostQuery(per_page=100000))


def test_detail_masks_secrets_unless_revealed(svc):
    attrs.set_attr(svc, "host", ["compute-0-0"], "site_secret", "hunter2")
    detail = host_detail(svc, "compute-0-0")
    values = {a.attr: (a.value, a.source) for a in detail.attributes}
    assert values["site_secret"] == ("********", "host")
    assert values["Kickstart_PrivateRootPassword"][0] == "********"
    assert {a.attr: a.value for a in host_detail(svc, "compute-0-0", reveal=True).attributes}["site_secret"] \
        == "hunter2"
    assert detail.interfaces[0].mac == "52:54:00:00:01:00" and detail.summary.appliance == "compute"
    with pytest.raises(HostNotFound):
        host_detail(svc, "nohost")


def test_update_needs_the_current_version(svc):
    version = host_detail(svc, "compute-0-0").etag
    with pytest.raises(PreconditionRequired):
        update_host(svc, "compute-0-0", HostUpdate(fields={"rack": "3"}), None)
    new = update_host(svc, "compute-0-0", HostUpdate(fields={"comment": "first"}, attributes={"a": "1"},
                                                     boot="install"), version)
    assert new != version and new == host_detail(svc, "compute-0-0").etag
    # the second admin read the same version: refused, nothing of theirs written
    with pytest.raises(Conflict) as info:
        update_host(svc, "compute-0-0", HostUpdate(fields={"comment": "second"}), version)
    assert info.value.status == 412
    detail = host_detail(svc, "compute-0-0")
    assert detail.comment == "first" and detail.summary.boot == "install"
    update_host(svc, "compute-0-0", HostUpdate(attributes={"a": None}), new)
    assert "a" not in {a.attr for a in host_detail(svc, "compute-0-0").attributes}
    with pytest.raises(InvalidArgument):
        update_host(svc, "compute-0-0", HostUpdate(fields={"name": "x"}), new)


def test_changing_a_secret_changes_the_version_without_revealing_it(svc):
    before = host_detail(svc, "compute-0-0").etag
    attrs.set_attr(svc, "host", ["compute-0-0"], "db_password", "a")
    middle = host_detail(svc, "compute-0-0").etag
    attrs.set_attr(svc, "host", ["compute-0-0"], "db_password", "b")
    assert len({before, middle, host_detail(svc, "compute-0-0").etag}) == 3
