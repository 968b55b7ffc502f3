"""The console in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by
selenium logs in, finds a host, changes an attribute and sets the host to reinstall; sees the host table
update itself; starts a build that fails on a broken site profile and sees file and line; opens a VM's
console.  Screenshots of the pages are saved in the test's tmp dir (``screenshots/``)."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from ksserver.services import hostviews

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("chromedriver") is None or shutil.which("chromium") is None,
                                 reason="needs Debian's chromium and chromium-driver packages")]
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000")


@pytest.fixture
def server(web_app):
    httpd = make_server("127.0.0.1", 0, web_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=30)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_admin_finds_a_host_changes_an_attribute_and_reinstalls_it(server, browser, tokens, web_cluster,
                                                                     tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 20)  # a click starts a navigation: wait for the new page, not the old one
    shots = tmp_path / "screenshots"
    shots.mkdir()
    browser.get(server + "/console/hosts")
    assert "/console/login" in browser.current_url
    browser.save_screenshot(str(shots / "login.png"))
    browser.find_element(By.ID, "user").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("alice-password")
    browser.find_element(By.ID, "login").click()
    assert browser.find_element(By.ID, "whoami").text == "alice (admin)"
    browser.save_screenshot(str(shots / "hosts.png"))

    browser.find_element(By.ID, "search").send_keys("compute-0-1")
    browser.find_element(By.ID, "filter").click()
    wait.until(until.url_contains("q=compute-0-1"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#hosts tbody tr")
    assert len(rows) == 1
    rows[0].find_element(By.LINK_TEXT, "compute-0-1").click()
    wait.until(until.url_contains("/console/hosts/compute-0-1"))
    assert browser.find_element(By.ID, "hostname").text == "compute-0-1"
    assert "--hostname=compute-0-1" in browser.find_element(By.ID, "kickstart").text

    browser.find_element(By.ID, "attr-name").send_keys("site_rack_label")
    browser.find_element(By.ID, "attr-value").send_keys("row 4 <b>left</b>")
    browser.find_element(By.ID, "attr-set").click()
    assert browser.find_element(By.ID, "message").text == "set site_rack_label"
    cells = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1:]
             for r in browser.find_elements(By.CSS_SELECTOR, "#attributes tbody tr")}
    assert [c.text for c in cells["site_rack_label"]] == ["row 4 <b>left</b>", "host"]

    browser.find_element(By.ID, "reinstall").click()
    wait.until(until.text_to_be_present_in_element((By.ID, "message"), "boot action install"))
    assert browser.find_element(By.ID, "boot").text == "install"
    browser.save_screenshot(str(shots / "host.png"))
    assert hostviews.host_detail(web_cluster, "compute-0-1").summary.boot == "install"
    for name in ("login.png", "hosts.png", "host.png"):
        assert (shots / name).stat().st_size > 1000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_build_fails_on_a_broken_site_profile_and_a_vm_console_opens(
        server, browser, tokens, web_cluster, settings, vm_app, hypervisors, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.wait import WebDriverWait

    from ksserver.services import boot
    from tests.web.test_vm_pages import VNC_XML, _vnc_standin

    wait = WebDriverWait(browser, 60)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    broken = nodes / "extend-compute.xml"
    broken.write_text("<kickstart>\n<main>\n  <post>unclosed\n</kickstart>\n")
    browser.get(server + "/console/login")
    browser.find_element(By.ID, "user").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("alice-password")
    browser.find_element(By.ID, "login").click()
    assert browser.find_element(By.ID, "whoami").text == "alice (admin)"

    # the host table's script updates the boot column without a reload
    boot.set_boot(web_cluster, ["compute-0-1"], "install")
    live_cell = (By.CSS_SELECTOR, 'td[data-host="compute-0-1"]')
    wait.until(until.text_to_be_present_in_element(live_cell, "install"))
    browser.save_screenshot(str(shots / "hosts-live.png"))

    browser.get(server + "/console/site")
    assert "extend-compute.xml" in browser.find_element(By.ID, "changes").text
    browser.save_screenshot(str(shots / "site.png"))
    browser.find_element(By.ID, "build").click()
    wait.until(until.text_to_be_present_in_element((By.ID, "state"), "failed"))  # the page refreshes itself
    failure = browser.find_element(By.CSS_SELECTOR, "#failures tbody tr")
    assert failure.find_element(By.CLASS_NAME, "file").text == str(broken)
    assert failure.find_element(By.CLASS_NAME, "line").text.isdigit()
    browser.save_screenshot(str(shots / "build.png"))
    broken.unlink()

    for page, name in (("/console/graph", "graph.png"), ("/console/overview", "overview.png"),
                       ("/console/hosts/compute-0-0", "host.png")):
        browser.get(server + page)
        browser.save_screenshot(str(shots / name))

    _, vm, uri = vm_app
    display, _ = _vnc_standin()
    with display:
        conn = hypervisors(uri, "vm-container-0-0").conn
        conn.defineXML(VNC_XML.format(name=vm, port=display.getsockname()[1], listen="127.0.0.1")).create()
        browser.get(server + f"/console/vms/{vm}")
        assert browser.find_element(By.ID, "vm-state").text == "active"
        browser.save_screenshot(str(shots / "vm.png"))
        browser.find_element(By.ID, "open-console").click()
        # noVNC (our module, then noVNC's) ran and reached the stand-in display through websockify
        wait.until(lambda b: b.find_element(By.ID, "vnc-status").text != "connecting")
        browser.save_screenshot(str(shots / "vm-console.png"))
        errors = [e for e in browser.get_log("browser") if "Content Security Policy" in e.get("message", "")]
        assert errors == [], errors
    for name in ("site.png", "build.png", "graph.png", "overview.png", "vm.png", "vm-console.png"):
        assert (shots / name).stat().st_size > 1000
