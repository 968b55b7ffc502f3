# ksserver: every target bootstraps what it needs on a fresh Debian machine.
#   make run    - cluster database + demo cluster under ./state, then the kickstart server
#   make test   - the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export KSSERVER_ROOT ?= $(CURDIR)/state
BIND ?= 127.0.0.1:8080
WORKERS ?= 2

DEB_PACKAGES := pkg-config gcc libparted-dev libvirt-dev e2fsprogs postgresql graphviz wrk \
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 ipxe-qemu \
	busybox-static cpio socat curl xfsprogs util-linux \
	xorriso createrepo-c dnsmasq-base kea-dhcp4-server grub-common iproute2 chromium chromium-driver \
	ipmitool openipmi openssh-client nginx-light haproxy novnc websockify

.PHONY: run test bench bench-quick deps venv clean help docs
help:
	@echo "make run | test | bench | bench-quick | deps | clean"

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# editable_mode=compat: the checkout as a plain path in a .pth, not setuptools' import hook (~10 ms of
# imports in every rocks process); setuptools calls that mode transitional, so its default is the fallback.
$(STAMP): pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]' --config-settings editable_mode=compat || \
		$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

venv: deps $(STAMP)

run: venv
	$(VENV)/bin/rocks init
	$(PY) -m ksserver.demo
	@echo "kickstart: curl --interface 127.0.100.10 -H 'X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:00' http://$(BIND)/install/sbin/kickstart.cgi"
	@echo "console:   http://$(BIND)/console/  (login printed above; API: http://$(BIND)/api/v1/openapi.json)"
	@echo "preview:   curl -H \"Authorization: Bearer \$$(cat $(KSSERVER_ROOT)/admin-token)\" 'http://$(BIND)/install/sbin/kickstart.cgi?client=compute-0-0'"
	$(VENV)/bin/ksserver serve --bind $(BIND) --workers $(WORKERS)

test: venv
	@set +e; $(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing, CI must run tests"; exit 1; fi; \
	exit $$rc

bench: venv
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: venv
	$(PY) -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) state .pytest_cache

docs: venv
	$(PY) -m ksserver.cli.docgen > docs/cli.md
	$(PY) -m ksserver.web.api.docgen > docs/api.md
