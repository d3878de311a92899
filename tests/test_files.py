"""Atomic writes: the old file or folder, or the new one, never a part; umask permissions."""

import os

import pytest

from zsrgan_tf import files


def test_write_bytes_replaces_and_a_failed_write_keeps_the_old_file(tmp_path):
    path = str(tmp_path / "a.json")
    files.write_bytes(path, b"old")
    files.write_bytes(path, b"new")
    assert open(path, "rb").read() == b"new"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~files.umask())

    def fail(f):
        f.write(b"part")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.write_with(path, fail)
    assert open(path, "rb").read() == b"new" and os.listdir(tmp_path) == ["a.json"]


def test_write_folder_replaces_a_folder_whole(tmp_path):
    path = str(tmp_path / "model")

    def write(content):
        def fill(folder):
            with open(os.path.join(folder, "weights"), "w") as f:
                f.write(content)
        return fill

    files.write_folder(path, write("one"))
    files.write_folder(path, write("two"))
    assert open(os.path.join(path, "weights")).read() == "two"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o777 & ~files.umask())

    def fail(folder):
        write("three")(folder)
        raise RuntimeError("converter failed")

    with pytest.raises(RuntimeError):
        files.write_folder(path, fail)
    assert open(os.path.join(path, "weights")).read() == "two"
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary folder left


def test_move_folder_restores_the_old_folder_when_the_move_fails(tmp_path, monkeypatch):
    old, new = tmp_path / "run", tmp_path / "partial"
    old.mkdir(), new.mkdir()
    (old / "kept").write_text("old")
    (new / "result").write_text("new")
    replace = os.replace

    def refuse(source, target):
        if str(source) == str(new):
            raise PermissionError("refused")
        replace(source, target)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        files.move_folder(str(new), str(old))
    assert (old / "kept").read_text() == "old" and (new / "result").exists()
    monkeypatch.setattr(os, "replace", replace)
    files.move_folder(str(new), str(old))
    assert (old / "result").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["run"]
