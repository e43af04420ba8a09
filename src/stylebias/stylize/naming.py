"""Output names of ``stylize``: ``<content stem>-stylized-<style name><suffix>``, collision-free.

The names depend only on the lists of content and style files (not on the seed), and no two
outputs share a name, even ignoring case:

- a content image is named by its stem; when two content files of one folder would get the
  same output name (``a.jpg`` and ``a.png`` with ``output_format="png"``, or names that differ
  in case only) they use their whole file name (``a.jpg-stylized-...``);
- a style image is named by its stem; where stems clash by its folder path joined with ``_``
  (``a/x.jpg`` -> ``a_x``); where that still clashes (``a_x.jpg`` beside ``a/x.jpg``, or
  ``x.jpg`` beside ``x.png``) by that plus ``_`` and the first 8 hex digits of the sha256 of
  its relative path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import InvalidArgumentError

__all__ = ["content_bases", "distinct_names", "output_suffix", "style_names"]

_SAVABLE = (".jpg", ".jpeg", ".png", ".webp")


def distinct_names(keys: list[str], choices: list[tuple[str, str]], suffixes: list[str],
              what: str) -> list[str]:
    """One name per key, no two equal ignoring case (with their suffixes).

    Each key takes its first choice; keys whose name clashes move to their second choice,
    then to the second plus ``_`` and an 8-hex hash of the key. So names depend only on the
    set of keys.

    Raises:
        InvalidArgumentError: a clash that even the hash does not resolve (names the files).
    """
    level = [0] * len(keys)

    def name(i: int) -> str:
        first, second = choices[i]
        # os.fsencode's bytes: a file name that is not UTF-8 hashes as its own bytes
        key_hash = hashlib.sha256(keys[i].encode("utf-8", "surrogateescape")).hexdigest()[:8]
        return (first, second, f"{second}_{key_hash}")[level[i]]

    while True:
        groups: dict[str, list[int]] = {}
        for i in range(len(keys)):
            groups.setdefault((name(i) + suffixes[i]).casefold(), []).append(i)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return [name(i) for i in range(len(keys))]
        moved = [i for g in clashes for i in g if level[i] < 2]
        if not moved:
            files = ", ".join(keys[i] for i in clashes[0])
            raise InvalidArgumentError(f"{what} {files} would share the output name "
                                       f"{name(clashes[0][0])!r}; rename one of them")  # fmt: skip
        for i in moved:
            level[i] += 1


def style_names(styles: list[Path], root: Path) -> list[str]:
    """The name each style gives to outputs: its stem, or its folder path if stems clash."""
    rels = [p.relative_to(root) for p in styles]
    choices = [(r.stem, "_".join(r.with_suffix("").parts)) for r in rels]
    return distinct_names([r.as_posix() for r in rels], choices, [""] * len(rels), "style images")


def output_suffix(content: Path, output_format: str) -> str:
    if output_format != "same":
        return f".{output_format}"
    return content.suffix if content.suffix.lower() in _SAVABLE else ".png"


def content_bases(contents: list[Path], root: Path, output_format: str) -> list[str]:
    """Output path prefix (before ``-stylized-``) per content: the stem, or the file name where
    stems clash after the output suffix is applied."""
    rels = [p.relative_to(root) for p in contents]
    choices = [(r.with_suffix("").as_posix(), r.as_posix()) for r in rels]
    suffixes = [output_suffix(p, output_format) for p in contents]
    return distinct_names([r.as_posix() for r in rels], choices, suffixes, "content images")
