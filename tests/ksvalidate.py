"""pykickstart as the judge of every kickstart a test sees."""

from __future__ import annotations

import functools
import warnings

from pykickstart.errors import KickstartError
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion


@functools.lru_cache(maxsize=None)
def _handler_class(version: str):  # type: ignore[no-untyped-def]
    return type(makeVersion(version))


def assert_valid_kickstart(text: str, version: str = "RHEL9") -> None:
    parser = KickstartParser(_handler_class(version)(), followIncludes=False, missingIncludeIsFatal=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            parser.readKickstartFromString(text)
        except (KickstartError, Warning) as exc:
            raise AssertionError(f"pykickstart rejected the kickstart: {exc}\n{text}") from None
