"""The one way msl writes a file: into `<file>.partial` under `<file>.partial.lock`, renamed into place when whole.

A reader therefore sees either the previous file or the finished new one, never half of one; a job killed while
writing leaves only the `.partial` (never the final name), which the next writer replaces or, for a store grown
clip by clip, resumes."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from msl_core.errors import BadInput

log = logging.getLogger(__name__)

SUFFIX = ".partial"


def partial_of(path: str | Path) -> Path:
    """Where `path` is written before it is renamed into place."""
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


@contextmanager
def owned(partial: Path) -> Iterator[None]:
    """Hold `<partial>.lock` (created exclusively, holding pid@host) while writing `partial`: a second writer of
    the same file on this host refuses instead of deleting or renaming the first one's work. A lock whose process
    is gone, or that another host left (a cluster job resumed elsewhere: Snakemake never runs one job twice at
    once), is taken over."""
    lock = partial.with_name(partial.name + ".lock")
    me = f"{os.getpid()}@{socket.gethostname()}"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            owner = lock.read_text().strip() if lock.exists() else ""
            pid, _, host = owner.partition("@")
            if host != socket.gethostname() or pid.isdigit() and not _alive(int(pid)):
                log.warning("taking over %s from process %s, which is gone", partial, owner)
                lock.unlink(missing_ok=True)
                continue
            raise BadInput(partial, f"is being written by process {owner or '?'} (lock {lock.name}); wait for it, "
                                    "or delete the lock if that process is gone") from None
    try:
        os.write(fd, me.encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def atomic_files(*paths: str | Path, resumable: bool = False) -> Iterator[list[Path]]:
    """The partial paths to write `paths` to; all are renamed into place when the block succeeds, none otherwise
    (the partials are then removed, unless `resumable`: a store grown clip by clip resumes from its partial).
    Each partial is held under its lock for the whole block."""
    finals = [Path(p) for p in paths]
    partials = [partial_of(p) for p in finals]
    with ExitStack() as stack:
        for final, partial in zip(finals, partials):
            final.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(owned(partial))
        try:
            yield partials
        except BaseException:
            for partial in partials if not resumable else ():
                partial.unlink(missing_ok=True)
            raise
        for final, partial in zip(finals, partials):
            os.replace(partial, final)


@contextmanager
def atomic_write(path: str | Path, resumable: bool = False) -> Iterator[Path]:
    """The partial path to write `path` to (see `atomic_files`)."""
    with atomic_files(path, resumable=resumable) as (partial,):
        yield partial
