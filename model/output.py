"""Writing results safely: the folder is checked before any computing, files appear whole or not at all.

Every file is written under a temporary name in its target folder and renamed when complete, so that a
full disk, a killed process or Ctrl-C never leaves a truncated file under a result's name; the manifest is
written last. A failure is an `OutputError` naming the path and the cause, with the exit code it deserves.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

EXIT_ENVIRONMENT = 1  # the machine refused: no permission, read-only, disk full
EXIT_BAD_INPUT = 2  # the path given cannot be a results folder: a file, below a file, a name too long
BAD_PATH_ERRNOS = {errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EISDIR, errno.ENOENT}


class OutputError(Exception):
    """A results path could not be written: `line` says which and why, `exit_code` is 1 or 2."""

    def __init__(self, path: Path, cause: str, exit_code: int) -> None:
        self.path, self.cause, self.exit_code = path, cause, exit_code
        super().__init__(self.line)

    @property
    def line(self) -> str:
        return f"{self.path}: cannot write: {self.cause}"

    @classmethod
    def of(cls, path: Path, err: OSError) -> OutputError:
        code = err.errno if isinstance(err.errno, int) else None
        cause = err.strerror or str(err) or type(err).__name__
        return cls(path, cause, EXIT_BAD_INPUT if code in BAD_PATH_ERRNOS else EXIT_ENVIRONMENT)


def writable_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) and prove that a file can be written in it, before any computing."""
    try:
        if folder.exists() and not folder.is_dir():
            raise OutputError(folder, "exists and is not a folder", EXIT_BAD_INPUT)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".probe-") as probe:
            probe.write(b"prevsim")
            probe.flush()
            os.fsync(probe.fileno())
    except FileExistsError:  # a parent is a file
        raise OutputError(folder, "a part of the path is a file, not a folder", EXIT_BAD_INPUT) from None
    except OSError as err:
        raise OutputError.of(folder, err) from None
    return folder


def write_atomically(target: Path, write: Callable[[Path], object], overwrite: bool = True) -> Path:
    """write(temporary path) in the target's folder, then rename to `target`; on failure nothing is left.

    overwrite=False refuses an existing target (also one that appears while writing: the rename is a link)."""
    target = Path(target)
    if not overwrite and target.exists():
        raise OutputError(target, "exists; results are never overwritten", EXIT_BAD_INPUT)
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:40]}.", suffix=".partial")
    except OSError as err:
        raise OutputError.of(target, err) from None
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        if overwrite:
            temporary.replace(target)
        else:
            os.link(temporary, target)  # fails if the target exists meanwhile
    except FileExistsError:
        raise OutputError(target, "exists; results are never overwritten", EXIT_BAD_INPUT) from None
    except OSError as err:
        raise OutputError.of(target, err) from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_text(target: Path, text: str, overwrite: bool = True) -> Path:
    return write_atomically(target, lambda path: path.write_text(text, encoding="utf-8"), overwrite)
