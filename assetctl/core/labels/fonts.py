"""The fonts labels are set in, and text measured in them.

The bundled font is Noto Sans from the `fontpkg-noto-sans` package (Latin, Greek, Cyrillic;
SIL Open Font License), so labels look the same on every machine and nothing is fetched at
run time. The `label_font` setting names one more TrueType font (e.g. an installed Noto Sans
CJK or Droid Sans Fallback) used for the characters Noto Sans lacks. A character no font
has is refused by name: a label with empty boxes where the tag should be is worse than none.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from assetctl.errors import InvalidInputError

MM_PER_PT = 25.4 / 72
BUNDLED_FAMILY = "Noto Sans"


def bundled_font() -> str:
    from importlib.resources import files

    return str(files("fontpkg_noto_sans") / "files" / "NotoSans[wdth,wght].ttf")


@dataclass(frozen=True)
class Face:
    """One font file: which characters it has and how wide they are."""

    path: str
    cmap: dict[int, str]
    advances: dict[str, int]
    units_per_em: int

    def has(self, char: str) -> bool:
        return ord(char) in self.cmap

    def width_mm(self, text: str, size_pt: float) -> float:
        units = sum(self.advances.get(self.cmap.get(ord(c), ".notdef"), 0) for c in text)
        return units / self.units_per_em * size_pt * MM_PER_PT


@functools.cache
def load_face(path: str) -> Face:
    """Read a font's character map and advance widths (cached for the process)."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        font = TTFont(path, lazy=True, fontNumber=0)
        cmap = dict(font.getBestCmap() or {})
        advances = {name: metric[0] for name, metric in font["hmtx"].metrics.items()}
        upm = int(font["head"].unitsPerEm)
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise InvalidInputError(
            f"cannot use font {path}: {getattr(exc, 'strerror', None) or 'not a TrueType font'}",
            hint="set label_font to a TrueType (.ttf) file, or unset it",
        ) from None
    return Face(path, cmap, advances, upm)


@dataclass(frozen=True)
class Run:
    """A piece of text set in one face of the stack."""

    face: int
    text: str


@dataclass(frozen=True)
class FontStack:
    """The faces text is set in, first choice first."""

    faces: tuple[Face, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(face.path for face in self.faces)

    def missing(self, text: str) -> str:
        """The characters of `text` no face has, each once, in order."""
        gone = [c for c in text if c.isprintable() and not any(f.has(c) for f in self.faces)]
        return "".join(dict.fromkeys(gone))

    def runs(self, text: str) -> tuple[Run, ...]:
        """`text` split where the face that has the next character changes."""
        runs: list[Run] = []
        for char in text:
            face = next((i for i, f in enumerate(self.faces) if f.has(char)), 0)
            if runs and runs[-1].face == face:
                runs[-1] = Run(face, runs[-1].text + char)
            else:
                runs.append(Run(face, char))
        return tuple(runs)

    def width_mm(self, text: str, size_pt: float) -> float:
        return sum(self.faces[r.face].width_mm(r.text, size_pt) for r in self.runs(text))


def font_stack(extra_font: str) -> FontStack:
    """The bundled font, then the `label_font` setting's font if any."""
    paths = [bundled_font()]
    if extra_font:
        paths.append(extra_font)
    return FontStack(tuple(load_face(path) for path in paths))
