"""A memory-mapped ``.npy`` cache that concurrent processes fill and read safely.

Several processes may build the same cache file at once, as parallel
GridSearchCV jobs or Dask workers loading a dataset for the first time do.
Each writes a temporary file of its own and publishes it with
:func:`os.replace`, which is atomic: a reader finds no file or a complete
one, and a published file is never rewritten in place, so a memory map of it
is never truncated under its reader. The shape and dtype live in the header
of the same file, so they are published together with the data.
"""

import os
import secrets
import sys

import numpy as np


def load_or_build(path, build, *, shape, dtype):
    """Memory-map the cache file ``path``, building and publishing it first if needed.

    A missing file is built silently. A damaged one (not an ``.npy`` file,
    another shape or dtype, or a size that does not match its header, as a
    truncated file has) is reported in one line on stderr and built again.

    Parameters
    ----------
    path : pathlib.Path
        The cache file. Its folder is created if it does not exist.
    build : callable
        Called without arguments, returns the array to cache.
    shape : tuple of int
        The shape of the array.
    dtype : dtype
        The dtype of the array.

    Returns
    -------
    array : numpy.memmap
        The cached array, read-only.
    """
    dtype = np.dtype(dtype)
    array = _open(path, shape, dtype)
    if array is None:
        _publish(path, build())
        # Mapped from the published name rather than returned from memory: joblib
        # pickles a memmap by file name, and its pages can be dropped under memory
        # pressure.
        array = np.load(path, mmap_mode="r")
    return array


def _open(path, shape, dtype):
    """``path`` memory-mapped if it is an intact cache file, else None.

    Only the header and the size are checked: a checksum would read the whole
    file on every load, which memory-mapping is there to avoid.
    """
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return None
    with file:
        problem = _problem(file, shape, dtype)
        if problem is None:
            return np.memmap(file, dtype=dtype, mode="r", shape=shape, offset=file.tell())
    print(
        f"cardionet_sk: the cache file {path} is damaged ({problem}); rebuilding it.",
        file=sys.stderr,
    )
    return None


def _problem(file, shape, dtype):
    """What makes the open ``.npy`` file unfit, or None, leaving ``file`` at its data."""
    read_header = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        version = np.lib.format.read_magic(file)
        if version not in read_header:
            return f"unknown .npy format version {version}"
        header = read_header[version](file)
    except ValueError as exc:
        return f"not a readable .npy file: {exc}"
    if header != (tuple(shape), False, dtype):
        found_shape, fortran_order, found_dtype = header
        order = ", Fortran order" if fortran_order else ""
        return (
            f"it holds an array of shape {found_shape}, dtype {found_dtype}{order}; "
            f"expected shape {tuple(shape)}, dtype {dtype}"
        )
    size = os.fstat(file.fileno()).st_size
    expected = file.tell() + int(np.prod(shape)) * dtype.itemsize
    if size != expected:
        return f"it has {size} bytes where its header implies {expected}"
    return None


def _publish(path, array):
    """Write ``array`` to ``path`` atomically, without touching a file already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name per writer, so that concurrent writers never truncate each other's
    # file. O_EXCL rather than tempfile.mkstemp, whose 0600 mode would hide the
    # cache of a shared data home from the other users.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        with open(os.open(temporary, flags, 0o666), "wb") as file:
            np.save(file, array, allow_pickle=False)
            file.flush()
            # On disk before it has its name: a crash must not publish an empty file.
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except PermissionError:
        # Windows refuses to replace a file that another process has open or
        # memory-mapped; that one was published by a concurrent writer.
        if os.name != "nt" or _open(path, array.shape, array.dtype) is None:
            raise
    finally:
        temporary.unlink(missing_ok=True)
