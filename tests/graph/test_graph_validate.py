"""The reused pykickstart handler gives the same verdicts as a fresh one, every time."""

from __future__ import annotations

import pytest

from ksserver.graph.validate import KickstartProblem, check

GOOD = """\
text
lang en_US.UTF-8
keyboard us
timezone Etc/UTC --utc
rootpw --iscrypted $6$abc$def
network --bootproto=static --device=eth0 --ip=10.1.1.2 --netmask=255.255.0.0 --hostname=a.local
network --bootproto=dhcp --device=eth1
user --name=alice --groups=wheel
repo --name=extra --baseurl=http://10.1.1.1/extra
sshkey --username=root "ssh-ed25519 AAAA"
zerombr
clearpart --all --initlabel
part raid.00 --size=1024 --ondisk=sda
part raid.01 --size=1024 --ondisk=sdb
part / --size=8000 --ondisk=sda
raid /boot --level=1 --device=md0 raid.00 raid.01
%include /tmp/partition-info

%packages --ignoremissing
@core
vim
-plymouth
%end

%pre
echo pre
%end

%post --interpreter=/usr/bin/python3
print("post")
%end
"""


def test_reuse_does_not_leak_state_between_parses():
    for _ in range(3):
        check(GOOD, "RHEL9")  # a second parse must not see "already defined" devices
        with pytest.raises(KickstartProblem):
            check(GOOD + "frobnicate\n", "RHEL9")


@pytest.mark.parametrize("text, lineno, words", [
    ("text\nreboot --bogus\n", 2, "unrecognized arguments"),
    ("text\ninstall\n", 2, "install"),                              # removed in RHEL 9
    ("timezone Etc/UTC --isUtc\n", 1, "deprecated"),                  # a deprecation warning
    ("part / --size=1\npart / --size=2\n", 2, "already been defined"),  # a parse warning
    ("%post\necho\n%end\n%frob\n%end\n", 4, "frob"),
])
def test_errors_and_warnings_are_problems_with_line_numbers(text, lineno, words):
    with pytest.raises(KickstartProblem) as e:
        check(text, "RHEL9")
    assert e.value.lineno == lineno and words in e.value.message
    check(GOOD, "RHEL9")  # and the handler is clean afterwards
