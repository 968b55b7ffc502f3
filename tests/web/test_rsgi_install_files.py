"""Files under /install/ as the granian front keeps them (ksserver.web.install_cache): the confinement rule
holds for every answer it reuses, small files come from memory with Range/HEAD/304 intact, and no Flask
view under /install/ is shadowed by a file of the same name."""

from __future__ import annotations

import os

import pytest

from ksserver.web.install_cache import InstallFileCache
from tests.web.test_granian_front import _get
from tests.web.test_serve_http import running_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def tree(tmp_path):
    base = tmp_path / "install"
    (base / "Packages").mkdir(parents=True)
    (base / "Packages" / "a.rpm").write_bytes(b"A" * 1000)
    (base / ".treeinfo").write_text("[general]\n")
    (base / ".lock").write_text("lock\n")
    (tmp_path / "secret").write_text("secret\n")
    os.symlink(tmp_path / "secret", base / "escape")
    os.symlink("Packages/a.rpm", base / "inside")
    return base


def test_confinement_holds_for_every_path(tree):
    files = InstallFileCache(tree)
    for bad in ("../secret", "Packages/../../secret", "escape", ".lock", "Packages/a.rpm\x00",
                "Packages//a.rpm", "Packages/", "", "Packages"):
        assert files.lookup(bad) is None, bad
    inside = files.lookup("inside")
    assert inside is not None and inside.real == str((tree / "Packages" / "a.rpm").resolve())
    assert files.lookup(".treeinfo").body == b"[general]\n"


def test_small_files_are_kept_within_bounds(tree):
    (tree / "Packages" / "big.rpm").write_bytes(b"B" * 5000)
    files = InstallFileCache(tree, max_body=2000, max_bodies=1500)
    assert files.lookup("Packages/big.rpm").body is None  # larger than max_body: sent from disk
    assert files.lookup("Packages/a.rpm").body == b"A" * 1000
    (tree / "c.rpm").write_bytes(b"C" * 1000)
    assert files.lookup("c.rpm").body is None  # the worker's budget (1500 bytes) is spent
    entry = files.lookup("Packages/a.rpm")
    assert entry.ok_headers[-1] == ("Content-Length", "1000")
    assert ("Accept-Ranges", "bytes") in entry.ok_headers


def test_a_reused_answer_never_follows_a_link_redirected_out_of_the_tree(tree, tmp_path):
    kept = InstallFileCache(tree, ttl=3600)
    rechecked = InstallFileCache(tree, ttl=0)
    for files in (kept, rechecked):
        assert files.lookup("inside").body == b"A" * 1000
    os.unlink(tree / "inside")
    os.symlink(tmp_path / "secret", tree / "inside")
    assert rechecked.lookup("inside") is None
    entry = kept.lookup("inside")  # within its validity: the bytes that were confined when read
    assert entry.body == b"A" * 1000 and entry.real.startswith(str(tree.resolve()))


def test_a_changed_file_is_read_again(tree):
    files = InstallFileCache(tree, ttl=0)
    first = files.lookup("Packages/a.rpm")
    (tree / "Packages" / "a.rpm").write_bytes(b"new")
    os.utime(tree / "Packages" / "a.rpm", ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    second = files.lookup("Packages/a.rpm")
    assert second.body == b"new" and second.etag != first.etag
    (tree / "Packages" / "a.rpm").unlink()
    assert files.lookup("Packages/a.rpm") is None


def test_the_table_cannot_grow_without_bound(tree):
    for k in range(10):
        (tree / f"f{k}").write_text(str(k))
    files = InstallFileCache(tree, max_entries=4)
    for k in range(10):
        assert files.lookup(f"f{k}").body == str(k).encode()
    assert len(files._entries) <= 4 and files._body_bytes == sum(len(e.body) for e in files._entries.values())


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def test_small_files_over_http_keep_range_head_and_304(cluster, settings, tmp_path):
    data = bytes(range(256)) * 1200  # 300 KB: kept in memory by the front
    package = settings.dist_dir / "bench" / "Packages" / "pkg.rpm"
    package.parent.mkdir(parents=True, exist_ok=True)
    package.write_bytes(data)
    (tmp_path / "outside.txt").write_text("secret\n")
    os.symlink(tmp_path / "outside.txt", settings.dist_dir / "bench" / "escape.rpm")
    path = "/install/bench/Packages/pkg.rpm"
    with running_server(settings) as url:
        for _ in range(3):  # the first answer reads the disk, the next ones are reused
            status, headers, body = _get(url, path)
            assert status == 200 and body == data and headers["content-length"] == str(len(data))
        status, headers, body = _get(url, path, {"Range": "bytes=1000-1999"})
        assert status == 206 and body == data[1000:2000] and headers["content-length"] == "1000"
        assert headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        status, headers, body = _get(url, path, {"Range": "bytes=-10"})
        assert status == 206 and body == data[-10:]
        assert _get(url, path, {"Range": f"bytes={len(data)}-"})[0] == 416
        status, headers, body = _get(url, path, method="HEAD")
        assert status == 200 and body == b"" and headers["content-length"] == str(len(data))
        assert _get(url, path, {"If-None-Match": headers["etag"]})[0] == 304
        assert _get(url, path, {"If-None-Match": '"other"'})[2] == data
        assert _get(url, path, {"If-Modified-Since": headers["last-modified"]})[0] == 304
        for hostile in ("/install/bench/escape.rpm", "/install/bench/%2e%2e/%2e%2e/outside.txt",
                        "/install/bench/Packages/..%2f..%2f..%2foutside.txt",
                        "/install/bench/Packages/pkg.rpm%00",
                        "/install/bench/Packages/pkg.rpm%00.txt", "/install/%2e%2e/cluster.db"):
            status, _, body = _get(url, hostile)
            assert status == 404 and b"secret" not in body and body != data, hostile


def test_no_flask_view_under_install_is_shadowed_by_a_file(cluster, settings):
    from ksserver.web import create_app

    app = create_app(settings)
    views = sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/install/") and "<" not in rule.rule
                   for method in rule.methods & {"GET", "POST"})
    assert ("/install/ipxe", "GET") in views
    views.append(("/install/sbin/kickstart.cgi", "GET"))  # answered by the front itself
    for path, _ in views:  # a planted file of the same name
        planted = settings.dist_dir / path[len("/install/"):]
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_bytes(b"PLANTED FILE\n")
    with running_server(settings) as url:
        for path, method in views:
            assert b"PLANTED" not in _get(url, path, method=method)[2], (method, path)


def test_misses_under_rocks_dist_share_their_looks_at_the_database(cluster, settings, monkeypatch):
    """A flood of misses under rocks-dist/ costs one look at the published trees at a time: misses that
    arrive while a look runs share the next one (which began after they arrived), never more."""
    import asyncio
    import threading
    import time

    from ksserver import published
    from ksserver.web.rsgi import InstallerServer

    looks, running, overlapped = [], [0], []

    def look(settings, db):  # noqa: ANN001 - published.catch_up's signature
        running[0] += 1
        overlapped.append(running[0] > 1)
        looks.append(threading.get_native_id())
        time.sleep(0.05)
        running[0] -= 1
        return False

    monkeypatch.setattr(published, "catch_up", look)
    front = InstallerServer(settings)
    try:
        async def flood() -> list:
            first = asyncio.ensure_future(front._lookup_after_catching_up("rocks-dist/x86_64/missing"))
            await asyncio.sleep(0.01)  # the first look is running: these share the next one
            rest = [front._lookup_after_catching_up(f"rocks-dist/x86_64/missing-{i}") for i in range(50)]
            return await asyncio.gather(first, *rest)

        assert asyncio.run(flood()) == [None] * 51
        assert len(looks) == 2 and not any(overlapped)
    finally:
        front.__rsgi_del__(None)
