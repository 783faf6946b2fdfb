"""``GET /api/files/{sha256}``: the files crawls kept, as downloads, read as items are (open on
loopback without sign-in, a token or a session elsewhere), named only by a checked hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

from crawler.files import DirectoryFileStore
from tests.crawler.service.conftest import make_service
from tests.sample_site import notices


def stored(tmp: Path) -> tuple[str, bytes]:
    data = notices.pdf("served")
    sha = hashlib.sha256(data).hexdigest()
    DirectoryFileStore(tmp / "files").put(sha, "pdf", data)
    return sha, data


def test_a_kept_file_is_served_as_a_download(tmp_path: Path) -> None:
    sha, data = stored(tmp_path)
    for service in make_service("sqlite", tmp_path, FILES_STORE=str(tmp_path / "files")):
        answer = service.client.get(f"/api/files/{sha}", params={"name": "公告 2024.pdf"})
        assert answer.status_code == 200 and answer.content == data
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["x-content-type-options"] == "nosniff"
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment; ")
        assert "filename*=UTF-8''%E5%85%AC%E5%91%8A%202024.pdf" in disposition
        assert "sandbox" in answer.headers["content-security-policy"]
        # a name claiming another type gets the file's own extension; none: the hash
        renamed = service.client.get(f"/api/files/{sha}", params={"name": "../run.sh"})
        assert 'filename="run.sh.pdf"' in renamed.headers["content-disposition"]
        plain = service.client.get(f"/api/files/{sha}")
        assert f'filename="{sha}.pdf"' in plain.headers["content-disposition"]


def test_only_a_hash_names_a_file(tmp_path: Path) -> None:
    sha, _ = stored(tmp_path)
    (tmp_path / "secret.txt").write_text("not a file of the store")
    for service in make_service("sqlite", tmp_path, FILES_STORE=str(tmp_path / "files")):
        client = service.client
        for bad in (sha.upper(), sha[:-1], sha + "0", "..%2F..%2Fsecret.txt", "..%2Fsecret.txt"):
            answer = client.get(f"/api/files/{bad}")
            assert answer.status_code in (400, 404), bad
            assert b"not a file of the store" not in answer.content
        assert client.get("/api/files/" + "..%2F" * 3 + "etc%2Fpasswd").status_code in (400, 404)
        missing = client.get("/api/files/" + "0" * 64)
        assert missing.status_code == 404 and "no such file" in missing.json()["detail"]


def test_files_need_the_same_access_as_items(tmp_path: Path) -> None:
    sha, data = stored(tmp_path)
    files = str(tmp_path / "files")
    for service in make_service("sqlite", tmp_path, host="0.0.0.0", FILES_STORE=files):
        client = service.client
        refused = client.get(f"/api/files/{sha}")
        assert refused.status_code == 401 and refused.content != data
        assert client.get("/api/collections").status_code == 401  # as items are
        allowed = client.get(f"/api/files/{sha}", headers=service.auth)
        assert allowed.status_code == 200 and allowed.content == data
