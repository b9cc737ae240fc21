"""atomic_file: complete or absent, the user's umask, and no junk left by killed writers."""

import os
import socket
import stat
import subprocess
import sys

import pytest

from toolkit.files import atomic_file


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_files_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with atomic_file(tmp_path / "w.ckpt") as file:
            file.write(b"weights")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "w.ckpt").stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file(tmp_path):
    (tmp_path / "w.ckpt").write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "w.ckpt") as file:
        file.write(b"half")
        raise RuntimeError("disk full")
    assert os.listdir(tmp_path) == ["w.ckpt"] and (tmp_path / "w.ckpt").read_bytes() == b"old"


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "last.ckpt"
    killed = "import os, sys\nfrom toolkit.files import atomic_file\n"
    killed += "with atomic_file(sys.argv[1]) as file:\n    file.write(b'half')\n    file.flush()\n"
    killed += "    os.kill(os.getpid(), 9)\n"
    process = subprocess.run([sys.executable, "-c", killed, str(target)], capture_output=True)
    assert process.returncode == -9
    parts = [name for name in os.listdir(tmp_path) if name.endswith(".part")]
    assert len(parts) == 1 and parts[0].startswith(".last.ckpt.")
    alive = tmp_path / f".last.ckpt.{socket.gethostname().replace('.', '_')}.{os.getpid()}.ab12.part"
    alive.write_bytes(b"a writer that is still running")
    unrelated = tmp_path / ".other.ckpt.host.1.ab.part"
    unrelated.write_bytes(b"not ours")
    with atomic_file(target) as file:
        file.write(b"whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["last.ckpt", alive.name, unrelated.name])
