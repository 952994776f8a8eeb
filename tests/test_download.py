"""PTB-XL download against a real HTTP server on 127.0.0.1 serving an archive of real records."""

import hashlib
import http.server
import io
import threading
import zipfile

import numpy as np
import pandas as pd
import pytest
from _helpers import requires_shared_ptbxl

from cardionet_sk.datasets import _download, fetch_ptbxl
from cardionet_sk.datasets._download import download_ptbxl

TOP = "ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.1"
pytestmark = requires_shared_ptbxl


def release_archive(fold9_home, n_records=4, corrupt=False):
    """A zip laid out like the PhysioNet release, with a few real fold-9 records."""
    source = fold9_home / "ptbxl"
    database = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    database = database[database.strat_fold == 9].head(n_records)
    files = {
        "ptbxl_database.csv": database.to_csv().encode(),
        "scp_statements.csv": (source / "scp_statements.csv").read_bytes(),
    }
    for name in database.filename_lr:
        for suffix in (".hea", ".dat"):
            files[name + suffix] = (source / (name + suffix)).read_bytes()
    sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in files.items())
    if corrupt:
        files["scp_statements.csv"] += b"tampered"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in {**files, "SHA256SUMS.txt": sums.encode()}.items():
            zf.writestr(f"{TOP}/{name}", content)
    return buffer.getvalue()


class Server:
    """A threaded HTTP server on 127.0.0.1 serving one archive, honouring Range requests."""

    def __init__(self, payload):
        self.payload, self.ranges = payload, []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                start = 0
                if "Range" in self.headers:
                    owner.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                else:
                    self.send_response(200)
                body = owner.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/ptb-xl.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload):
        servers.append(Server(payload))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_fetch_downloads_verifies_and_loads_the_release(fold9_home, tmp_path, serve, monkeypatch):
    server = serve(release_archive(fold9_home))
    monkeypatch.setattr(_download, "PTBXL_URL", server.url)
    data = fetch_ptbxl(tmp_path / "home")
    assert data.data.shape == (4, 1000, 12)
    assert (tmp_path / "home" / "ptbxl" / "SHA256SUMS.txt").is_file()
    assert not list((tmp_path / "home").glob("*.part"))


def test_interrupted_download_resumes_with_a_range_request(fold9_home, tmp_path, serve):
    payload = release_archive(fold9_home)
    server = serve(payload)
    root = tmp_path / "ptbxl"
    (tmp_path / "ptbxl.zip.part").write_bytes(payload[:1000])
    download_ptbxl(root, url=server.url)
    assert server.ranges == ["bytes=1000-"]
    assert (root / "ptbxl_database.csv").is_file()


def test_checksum_mismatch_leaves_nothing_in_place(fold9_home, tmp_path, serve):
    server = serve(release_archive(fold9_home, corrupt=True))
    root = tmp_path / "ptbxl"
    with pytest.raises(OSError, match="Checksum mismatch for scp_statements.csv"):
        download_ptbxl(root, url=server.url)
    assert not root.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_unreachable_server_says_what_to_download_and_where(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    root = tmp_path / "ptbxl"
    with pytest.raises(
        OSError,
        match=f"Could not download PTB-XL from http://127.0.0.1:{port}"
        ".*so that .*ptbxl_database.csv exists",
    ):
        download_ptbxl(root, url=f"http://127.0.0.1:{port}/x.zip", timeout=5)
    assert not root.exists()


def test_downloaded_signals_match_the_source(fold9_home, tmp_path, serve, monkeypatch):
    server = serve(release_archive(fold9_home, n_records=2))
    monkeypatch.setattr(_download, "PTBXL_URL", server.url)
    downloaded = fetch_ptbxl(tmp_path / "home")
    source = fetch_ptbxl(fold9_home, folds=[9])
    np.testing.assert_array_equal(downloaded.data, source.data[:2])
