"""Identity and camera from Market-1501 style file names.

Market-1501 names images ``<pid>_c<cam>s<seq>_<frame>_<idx>.jpg``, e.g.
``0002_c1s1_000451_03.jpg`` (identity 2, camera 1). Identity ``-1`` marks junk detections,
which the official evaluation ignores, and ``0000`` marks distractors (background, body parts),
which count as wrong answers in the gallery. DukeMTMC-reID's ``0001_c2_f0046182.jpg`` follows
the same ``<pid>_c<cam>`` prefix and parses too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

__all__ = [
    "JUNK_PID",
    "DISTRACTOR_PID",
    "ReidSplit",
    "parse_reid_name",
    "reid_split",
]

JUNK_PID = -1
DISTRACTOR_PID = 0

_NAME = re.compile(r"^(-1|\d+)_c(\d+)")


def parse_reid_name(name: str | os.PathLike[str]) -> tuple[int, int]:
    """``(pid, camid)`` of a Market-1501 / DukeMTMC-reID image name (directories ignored).

    Args:
        name: file name or path, e.g. ``"0002_c1s1_000451_03.jpg"`` or ``"-1_c3s2_000100_01.jpg"``.

    Returns:
        ``(pid, camid)`` as ints: ``(2, 1)`` and ``(-1, 3)`` for the examples; ``0000`` gives 0.

    Raises:
        DataError: the name does not start with ``<pid>_c<cam>``.

    Example:
        >>> parse_reid_name("market/query/0002_c1s1_000451_03.jpg")
        (2, 1)
    """
    base = Path(name).name
    match = _NAME.match(base)
    if match is None:
        raise DataError(
            f"cannot read identity and camera from {base!r}: expected a Market-1501 name "
            "'<pid>_c<cam>s<seq>_<frame>_<idx>.jpg' such as '0002_c1s1_000451_03.jpg' "
            "(pid -1 = junk, 0000 = distractor). Rename the files or pass the ids yourself."
        )
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class ReidSplit:
    """Images of a query or gallery folder with their identities and cameras.

    Attributes:
        paths: kept image paths, sorted.
        pids: identity of each kept image.
        camids: camera of each kept image.
        dropped: how many images were left out per dropped identity, e.g. ``{-1: 2798}``.
    """

    paths: tuple[Path, ...]
    pids: tuple[int, ...]
    camids: tuple[int, ...]
    dropped: dict[int, int]

    def __len__(self) -> int:
        return len(self.paths)


def reid_split(paths: Iterable[str | os.PathLike[str]], drop_pids: Sequence[int] = (JUNK_PID,)) -> ReidSplit:
    """Parse every path's name and leave out the identities in ``drop_pids``.

    Use ``drop_pids=(-1,)`` for a gallery (junk ignored, distractors kept as wrong answers, as
    torchreid's Market-1501 loader does) and ``(-1, 0)`` for queries.

    Args:
        paths: image paths named ``<pid>_c<cam>...``.
        drop_pids: identities to leave out.

    Returns:
        A :class:`ReidSplit` sorted by path.

    Raises:
        DataError: a name does not parse.
    """
    kept_paths, pids, camids = [], [], []
    dropped: dict[int, int] = {}
    drop = set(drop_pids)
    for path in sorted(Path(p) for p in paths):
        pid, cam = parse_reid_name(path)
        if pid in drop:
            dropped[pid] = dropped.get(pid, 0) + 1
            continue
        kept_paths.append(path)
        pids.append(pid)
        camids.append(cam)
    return ReidSplit(tuple(kept_paths), tuple(pids), tuple(camids), dropped)
