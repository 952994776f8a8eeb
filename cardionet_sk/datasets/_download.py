"""Download of the PTB-XL release: resumable, checksummed, moved into place atomically."""

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

#: The official PhysioNet release archive of PTB-XL v1.0.1 (about 1.7 GB).
PTBXL_URL = (
    "https://physionet.org/static/published-projects/ptb-xl/"
    "ptb-xl-a-large-publicly-available-electrocardiography-dataset-1.0.1.zip"
)
#: The per-file checksum list the release ships, checked after extraction.
CHECKSUMS_FILE = "SHA256SUMS.txt"
_CHUNK = 1 << 20


def download_ptbxl(root, *, url=None, verbose=False, timeout=60):
    """Download and unpack the PTB-XL release into ``root``.

    The archive goes to ``<root>.zip.part`` first, continuing a partial file
    from an earlier, interrupted call with an HTTP range request. It is then
    extracted into a temporary folder beside ``root``, every file is checked
    against the release's ``SHA256SUMS.txt``, and only then is the folder
    moved to ``root`` with :func:`os.replace`: an interrupted or corrupt
    download never leaves a ``root`` that later loads as complete.

    Parameters
    ----------
    root : path-like
        Folder to create; it must not exist yet.
    url : str, default=None
        Address of the release zip archive; :data:`PTBXL_URL` by default.
    verbose : bool
        Show a progress bar.
    timeout : float
        Seconds to wait for the server.

    Raises
    ------
    OSError
        When the server cannot be reached (with what to download and where to
        put it) or the checksums do not match.
    """
    root = Path(root)
    url = url or PTBXL_URL
    root.parent.mkdir(parents=True, exist_ok=True)
    archive = root.with_name(root.name + ".zip.part")
    try:
        _fetch(url, archive, verbose=verbose, timeout=timeout)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise OSError(
            f"Could not download PTB-XL from {url} ({exc}). Without network access, "
            f"download that archive elsewhere and unpack it so that {root / 'ptbxl_database.csv'}"
            " exists (or rebuild the layout with unpack.py of a local copy); a partial download "
            f"is kept in {archive} and resumed next time."
        ) from exc
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(staging)
        release = _release_folder(staging, archive)
        _verify_checksums(release, archive)
        os.replace(release, root)
    except Exception:
        # A corrupt archive is not resumed: the next call downloads it afresh.
        archive.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive.unlink()


def _fetch(url, path, *, verbose, timeout):
    """Download ``url`` to ``path``, continuing an existing partial file."""
    done = path.stat().st_size if path.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = response.status == 206
        total = response.headers.get("Content-Length")
        total = int(total) + (done if resumed else 0) if total else None
        progress = _progress(total, done if resumed else 0, verbose)
        with open(path, "ab" if resumed else "wb") as file:
            while chunk := response.read(_CHUNK):
                file.write(chunk)
                progress.update(len(chunk))
        progress.close()


def _progress(total, initial, verbose):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        disable=not verbose,
        desc="PTB-XL",
        file=sys.stderr,
    )


def _release_folder(staging, archive):
    """The extracted folder holding ``ptbxl_database.csv``."""
    for candidate in [staging, *sorted(p for p in staging.iterdir() if p.is_dir())]:
        if (candidate / "ptbxl_database.csv").is_file():
            return candidate
    raise OSError(f"{archive} holds no ptbxl_database.csv: it is not the PTB-XL release.")


def _verify_checksums(folder, archive):
    sums = folder / CHECKSUMS_FILE
    if not sums.is_file():
        raise OSError(f"{archive} holds no {CHECKSUMS_FILE}: its files cannot be verified.")
    for line in sums.read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        digest = hashlib.sha256()
        with open(folder / name, "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise OSError(
                f"Checksum mismatch for {name} in {archive}: the download is corrupt and was "
                "deleted; call again to download it afresh."
            )
