"""/api/v1 on SQLite and PostgreSQL: auth, roles, validation errors naming the field, paging and
filters, ETag conflicts, secrets, audit; every response checked against the served OpenAPI document."""

from __future__ import annotations

import pytest

from ksserver.inventory.hosts import HostRequest
from ksserver.services import attrs, hosts
from tests.web.apiclient import Api, OpenApiChecker


@pytest.fixture
def api(web_app, tokens) -> Api:
    client = web_app.test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    return Api(client, OpenApiChecker(doc))


def test_no_credentials_or_bad_ones_are_401(api, tokens):
    response = api("GET", "/hosts")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer" in response.get_json()["error"]
    assert api("GET", "/hosts", token="not-a-token").status_code == 401
    assert api("GET", "/hosts", headers={"Authorization": "Basic YTpi"}).status_code == 401
    assert api("GET", "/whoami", token=tokens.reader).get_json() == {"name": "rita", "role": "readonly"}
    assert api("GET", "/whoami", token=tokens.init_token).get_json() == {"name": "token:admin", "role": "admin"}


def test_unknown_api_paths_answer_json(web_app, tokens):
    response = web_app.test_client().get("/api/v1/nothing", headers={"Authorization": f"Bearer {tokens.admin}"})
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_read_only_can_read_but_not_write_nor_see_secrets(api, tokens):
    assert api("GET", "/hosts", token=tokens.reader).status_code == 200
    etag = api("GET", "/hosts/compute-0-0", token=tokens.reader).headers["ETag"]
    refused = [api("PATCH", "/hosts/compute-0-0", token=tokens.reader, json={"comment": "x"},
                   headers={"If-Match": etag}),
               api("POST", "/hosts", token=tokens.reader, json={"name": "compute-0-5"}),
               api("DELETE", "/hosts/compute-0-1", token=tokens.reader),
               api("POST", "/hosts/boot", token=tokens.reader, json={"hosts": ["compute-0-0"], "action": "install"}),
               api("PUT", "/attributes/global/x", token=tokens.reader, json={"value": "1"}),
               api("GET", "/hosts/compute-0-0?secrets=yes", token=tokens.reader),
               api("GET", "/attributes/global?secrets=yes", token=tokens.reader),
               api("GET", "/hosts/compute-0-0/kickstart", token=tokens.reader),
               api("GET", "/audit", token=tokens.reader)]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "read-only" in refused[0].get_json()["error"]
    assert api("GET", "/hosts/compute-0-0", token=tokens.reader).headers["ETag"] == etag  # nothing changed


def test_secrets_are_masked_unless_an_admin_asks(api, tokens, web_cluster):
    attrs.set_attr(web_cluster, "host", ["compute-0-0"], "ldap_secret", "s3cr3t-value")
    for token in (tokens.reader, tokens.admin):
        body = api("GET", "/hosts/compute-0-0", token=token).get_data(as_text=True)
        assert "s3cr3t-value" not in body and "********" in body
        listing = api("GET", "/attributes/host/compute-0-0", token=token).get_data(as_text=True)
        assert "s3cr3t-value" not in listing
        assert "$6$" not in api("GET", "/attributes/global", token=token).get_data(as_text=True)
    shown = api("GET", "/hosts/compute-0-0?secrets=yes", token=tokens.admin).get_json()
    assert {a["attr"]: a["value"] for a in shown["attributes"]}["ldap_secret"] == "s3cr3t-value"
    assert {a["attr"]: a["source"] for a in shown["attributes"]}["ldap_secret"] == "host"


def test_host_detail_has_interfaces_attributes_partitions_and_etag(api, tokens):
    response = api("GET", "/hosts/compute-0-0", token=tokens.admin)
    host = response.get_json()
    assert host["interfaces"][0]["mac"] == "52:54:00:00:01:00" and host["interfaces"][0]["network"] == "private"
    assert host["appliance"] == "compute" and host["boot"] in ("os", "install")
    assert response.headers["ETag"] == f'"{host["version"]}"'
    assert api("GET", "/hosts/nohost", token=tokens.admin).status_code == 404
    kickstart = api("GET", "/hosts/compute-0-0/kickstart", token=tokens.admin).get_data(as_text=True)
    assert "--hostname=compute-0-0" in kickstart


def test_paging_and_filters(api, tokens, web_cluster):
    for rank in range(2, 30):
        hosts.add_host(web_cluster, HostRequest(name=f"compute-2-{rank}", rack=2, rank=rank))
    first = api("GET", "/hosts?per_page=10&page=1&rack=2", token=tokens.reader).get_json()
    assert first["total"] == 28 and len(first["items"]) == 10 and first["page"] == 1
    last = api("GET", "/hosts?per_page=10&page=3&rack=2", token=tokens.reader).get_json()
    assert len(last["items"]) == 8
    assert [h["name"] for h in api("GET", "/hosts?q=compute-2-2", token=tokens.reader).get_json()["items"]] == \
        ["compute-2-2", "compute-2-20", "compute-2-21", "compute-2-22", "compute-2-23", "compute-2-24",
         "compute-2-25", "compute-2-26", "compute-2-27", "compute-2-28", "compute-2-29"]
    assert api("GET", "/hosts?appliance=frontend", token=tokens.reader).get_json()["total"] == 1
    assert api("GET", "/hosts?page=99", token=tokens.reader).get_json()["items"] == []


@pytest.mark.parametrize("query,field", [("per_page=0", "per_page"), ("per_page=abc", "per_page"),
                                         ("page=0", "page"), ("rack=x", "rack"), ("boot=maybe", "boot")])
def test_bad_query_values_name_the_field(api, tokens, query, field):
    response = api("GET", f"/hosts?{query}", token=tokens.reader)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_validation_errors_name_the_field(api, tokens):
    etag = api("GET", "/hosts/compute-0-0", token=tokens.admin).headers["ETag"]
    cases = [({"rack": "three"}, "rack"), ({"name": "x"}, "name"), ({"boot": "sometimes"}, "boot"),
             ({"attributes": {"a": 5}}, "attributes.a"), ({"attributes": []}, "attributes")]
    for body, field in cases:
        response = api("PATCH", "/hosts/compute-0-0", token=tokens.admin, json=body, headers={"If-Match": etag})
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field, body
    response = api("PATCH", "/hosts/compute-0-0", token=tokens.admin, data="{not json",
                   headers={"If-Match": etag, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    nested = "[" * 100000 + "]" * 100000
    response = api("POST", "/hosts", token=tokens.admin, data=nested, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    bad_mac = api("POST", "/hosts", token=tokens.admin, json={"name": "compute-0-7", "mac": "zz"})
    assert bad_mac.status_code == 400 and "MAC" in bad_mac.get_json()["error"].upper()
    assert api("POST", "/hosts", token=tokens.admin, json={"name": "compute-0-0"}).status_code == 409


def test_two_admins_cannot_overwrite_each_other(api, tokens):
    first = api("GET", "/hosts/compute-0-0", token=tokens.admin).headers["ETag"]
    second = api("GET", "/hosts/compute-0-0", token=tokens.init_token).headers["ETag"]
    assert first == second
    assert api("PATCH", "/hosts/compute-0-0", token=tokens.admin, json={"comment": "x"}).status_code == 428
    done = api("PATCH", "/hosts/compute-0-0", token=tokens.admin, json={"comment": "alice was here"},
               headers={"If-Match": first})
    assert done.status_code == 200 and done.headers["ETag"] != first
    late = api("PATCH", "/hosts/compute-0-0", token=tokens.init_token, json={"comment": "overwrite"},
               headers={"If-Match": second})
    assert late.status_code == 412 and "changed by someone else" in late.get_json()["error"]
    assert api("GET", "/hosts/compute-0-0", token=tokens.admin).get_json()["comment"] == "alice was here"
    assert api("DELETE", "/hosts/compute-0-0", token=tokens.admin, headers={"If-Match": first}).status_code == 412


def test_writes_are_audited_and_apply(api, tokens, settings):
    etag = api("GET", "/hosts/compute-0-1", token=tokens.admin).headers["ETag"]
    changed = api("PATCH", "/hosts/compute-0-1", token=tokens.admin, headers={"If-Match": etag},
                  json={"rack": 0, "boot": "install", "attributes": {"site_note": "hi", "db_password": "pw12"}})
    assert changed.status_code == 200
    host = changed.get_json()
    assert host["boot"] == "install" and {a["attr"]: a["value"] for a in host["attributes"]}["site_note"] == "hi"
    added = api("POST", "/hosts", token=tokens.admin, json={"name": "compute-0-9", "mac": "52:54:00:00:09:00"})
    assert added.status_code == 201 and added.headers["Location"] == "/api/v1/hosts/compute-0-9"
    assert api("POST", "/hosts/boot", token=tokens.admin,
               json={"hosts": ["compute-0-9", "compute-0-0"], "action": "install"}).status_code == 200
    assert api("PUT", "/attributes/appliance/compute/x_a", token=tokens.admin, json={"value": "1"}).status_code == 200
    assert api("PUT", "/attributes/global/x_g", token=tokens.admin, json={"value": "2"}).status_code == 200
    assert api("DELETE", "/attributes/global/x_g", token=tokens.admin).status_code == 200
    assert api("DELETE", "/attributes/global/x_g", token=tokens.admin).status_code == 404
    assert api("PUT", "/attributes/planet/x/y", token=tokens.admin, json={"value": "1"}).get_json()["field"] == "scope"
    assert api("DELETE", "/hosts/compute-0-9", token=tokens.admin).status_code == 200
    # PXE files follow: compute-0-1 installs on its next boot
    assert any(p.read_text().find("install") >= 0 for p in (settings.tftp_dir / "pxelinux.cfg").iterdir())
    audit = api("GET", "/audit", token=tokens.admin).get_json()["items"]
    actions = [(e["actor"], e["action"], e["target"]) for e in audit]
    assert actions == [("alice", "change host", "compute-0-1"), ("alice", "add host", "compute-0-9"),
                       ("alice", "set host boot", "compute-0-9 compute-0-0"), ("alice", "set appliance attr", "compute"),
                       ("alice", "set global attr", ""), ("alice", "remove global attr", ""),
                       ("alice", "remove host", "compute-0-9")]
    assert "pw12" not in str(audit), audit
    assert "'db_password': '********'" in audit[0]["detail"]


def test_lists_of_other_resources(api, tokens):
    assert "compute" in [a["name"] for a in api("GET", "/appliances", token=tokens.reader).get_json()["items"]]
    assert {"name": "Compute", "appliance": "compute"} in api("GET", "/memberships", token=tokens.reader).get_json()[
        "items"]
    assert "private" in [n["name"] for n in api("GET", "/networks", token=tokens.reader).get_json()["items"]]
    assert "install" in [b["action"] for b in api("GET", "/bootactions", token=tokens.reader).get_json()["items"]]
    assert api("GET", "/attributes/os", token=tokens.reader).status_code == 200
    assert api("GET", "/attributes/appliance/compute", token=tokens.reader).status_code == 200
    assert api("GET", "/vms?live=no", token=tokens.reader).get_json() == {"items": []}
    assert api("POST", "/vms/nohost/actions", token=tokens.admin, json={"action": "reboot"}).get_json()["field"] \
        == "action"


def test_install_partitioning_rolls_and_distributions(api, tokens, web_cluster):
    from ksserver.services import boot

    boot.set_boot(web_cluster, ["compute-0-0"], "install")
    status = api("GET", "/hosts/compute-0-0/install", token=tokens.reader)
    assert status.status_code == 200
    assert status.get_json()["stage"] == "issued" and status.get_json()["boot_action"] == "install"
    part = api("GET", "/hosts/compute-0-0/partitioning", token=tokens.reader)
    assert part.status_code == 200 and part.get_json()["reset"] is False
    assert api("GET", "/hosts/nosuch/install", token=tokens.reader).status_code == 404
    assert api("GET", "/rolls", token=tokens.reader).get_json() == {"items": []}
    assert api("GET", "/distributions", token=tokens.reader).get_json() == {"items": []}
    assert api("GET", "/rolls").status_code == 401


def test_next_install_plan_is_admin_only_and_needs_a_report(api, tokens):
    assert api("GET", "/hosts/compute-0-0/partition-plan", token=tokens.reader).status_code == 403
    missing = api("GET", "/hosts/compute-0-0/partition-plan", token=tokens.admin)
    assert missing.status_code == 404 and "no partition report" in missing.get_json()["error"]


def test_hosts_filter_by_install_stage(api, tokens, web_cluster):
    from ksserver.services import boot

    boot.set_boot(web_cluster, ["compute-0-1"], "install")
    issued = api("GET", "/hosts?stage=issued", token=tokens.reader).get_json()
    assert [h["name"] for h in issued["items"]] == ["compute-0-1"]
    assert api("GET", "/hosts?stage=finished", token=tokens.reader).get_json()["total"] == 0
    assert api("GET", "/hosts?stage=dancing", token=tokens.reader).status_code == 400
