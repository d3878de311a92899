"""Writing files and folders atomically: written beside their target, then renamed.

A reader (or a resumed run) sees the old file or folder or the new one, never a
part; new files and folders get the permissions the umask gives newly created ones.
"""

import os
import shutil
import tempfile


def umask():
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_with(path, write):
    """Calls ``write(f)`` on a new binary file beside ``path``, then renames it to
    ``path``, replacing any file there. The temporary file keeps ``path``'s suffix
    (some writers choose the format by it)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_bytes(path, content):
    """Writes ``content`` (bytes) to ``path``, replacing any file there, atomically."""
    write_with(path, lambda f: f.write(content))


def make_folder(parent, prefix):
    """A new empty folder in ``parent`` named ``prefix`` + random characters, with
    the permissions of a newly created folder (``mkdtemp`` alone gives 0700)."""
    folder = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(folder, 0o777 & ~umask())
    return folder


def move_folder(source, path):
    """Renames the folder ``source`` to ``path`` (same file system). A folder at
    ``path`` is replaced, and kept as it was if the new one cannot be moved in."""
    if not os.path.isdir(path):
        os.replace(source, path)
        return
    # A rename cannot replace a non-empty folder: move the old one aside first.
    old = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(os.path.abspath(path)))
    os.replace(path, os.path.join(old, "folder"))
    try:
        os.replace(source, path)
    except BaseException:
        os.replace(os.path.join(old, "folder"), path)
        os.rmdir(old)
        raise
    shutil.rmtree(old)


def write_folder(path, write):
    """Calls ``write(folder)`` on a new folder beside ``path``, then moves it to
    ``path`` (``move_folder``); nothing is left behind if ``write`` fails."""
    tmp = make_folder(os.path.dirname(os.path.abspath(path)), ".tmp-")
    try:
        write(tmp)
        move_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
