"""A run's provenance (metrics.json's ``provenance``): the commit, marked dirty when tracked files differ."""

import shutil
import subprocess

import pytest

from experiments import provenance


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_commit_names_the_checkout_and_marks_uncommitted_changes(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    monkeypatch.setattr(provenance, "ROOT", repo)
    head = _git(repo, "rev-parse", "--short=12", "HEAD")
    assert provenance.commit() == head
    (repo / "new.py").write_text("")  # untracked files do not change the code that ran
    assert provenance.commit() == head
    (repo / "a.py").write_text("x = 2\n")
    assert provenance.commit() == head + "+dirty"
    monkeypatch.setattr(provenance, "ROOT", tmp_path / "not-a-repo")
    assert provenance.commit() is None


def test_provenance_names_the_cpu_and_device():
    where = provenance.provenance()
    assert set(where) == {"commit", "cpu", "cpu_count", "device", "jax", "xla_flags"}
    assert where["cpu"] and where["cpu_count"] >= 1 and where["device"]
