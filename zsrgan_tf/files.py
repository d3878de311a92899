"""Writing files atomically: a temporary file in the same folder, then a rename.

A reader (or a resumed run) sees the old file or the new one, never a part; the
file gets the permissions the umask gives a newly created file.
"""

import os
import tempfile


def umask():
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path, content):
    """Writes ``content`` (bytes) to ``path``, replacing any file there, atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
