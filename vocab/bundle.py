"""The project's files when its code runs from a deployed egg (a Scrapyd node).

On a node, Scrapyd puts the deployed egg (a zip file: the code and ``rules/``) on ``sys.path``;
the project's root is then that zip file, not a directory. The rules are unpacked once per egg
version into ``<data dir>/bundles/<version>/rules`` (a directory the rule loader can read), each
member checked: a relative path under ``rules/``, no ``..``, at most :data:`MAX_BYTES` in all.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_BYTES = 64 * 1024 * 1024  # the unpacked rules of one egg


def egg_version(egg: zipfile.ZipFile) -> str:
    """The egg's version (PKG-INFO), as a directory name."""
    try:
        info = egg.read("EGG-INFO/PKG-INFO").decode("utf-8", "replace")
    except KeyError:
        info = ""
    found = re.search(r"^Version:\s*(\S+)", info, re.MULTILINE)
    return re.sub(r"[^\w.+-]", "_", found.group(1) if found else "unknown")[:100]


def unpack_rules(egg_path: Path, data_dir: Path) -> Path:
    """``rules/`` of the egg at ``egg_path``, unpacked under ``data_dir`` (once per version)."""
    with zipfile.ZipFile(egg_path) as egg:
        target = data_dir / "bundles" / egg_version(egg)
        rules = target / "rules"
        if rules.is_dir():
            return rules
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
        total = 0
        for member in egg.infolist():
            path = PurePosixPath(member.filename)
            if member.is_dir() or path.parts[:1] != ("rules",):
                continue
            if path.is_absolute() or ".." in path.parts:
                raise ValueError(f"egg member {member.filename!r} is not a path under rules/")
            total += member.file_size
            if total > MAX_BYTES:
                raise ValueError(f"the egg's rules are larger than {MAX_BYTES} bytes")
            out = scratch.joinpath(*path.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            with egg.open(member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        (scratch / "rules").mkdir(exist_ok=True)
        try:
            os.rename(scratch, target)  # atomic: a concurrent crawl unpacked it first, or we did
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
        return rules
