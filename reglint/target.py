"""Which TensorFlow and Keras a project runs on: its target, the way Ruff has `target-version`.

A target is a set of releases for each library, written as a version specifier
(`tensorflow-version = "1.15"`, `">=2.4,<2.16"`), from the configuration or the command
line, else inferred from the project's dependency declarations (see reglint/requirements.py).
Unknown means "any release": reglint then behaves as it always did.

Rules say which targets they concern (`Rule.reported_on`) and on which targets their fixes
produce code that runs (`Rule.fixes_run_on`); the runner applies both. The releases are
judged one minor line at a time (`1.15`, `2.16`): what changed between TensorFlow releases
for regularization changed at minor releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

# The minor lines of each library reglint reasons about (a specifier admits a line when it
# admits one of its releases). tf-nightly is taken as the newest line.
TENSORFLOW_LINES = tuple(Version(v) for v in ("0.12", *(f"1.{n}" for n in range(16)), *(f"2.{n}" for n in range(22))))
KERAS_LINES = tuple(Version(v) for v in (*(f"2.{n}" for n in range(16)), *(f"3.{n}" for n in range(16))))
# the releases tried for each line (`==1.15.5`, `>=2.4.1`, `==2.3.0rc0` admit a line through
# one of them)
_RELEASES = (*(f".{patch}" for patch in range(10)), ".0rc0", ".0rc1", ".0rc2", ".0rc3")

# Keras 3 is what `tf.keras` is from TensorFlow 2.16 on (without tf-keras and
# TF_USE_LEGACY_KERAS=1), and what the `keras` package is from 3.0 on.
KERAS3_TENSORFLOW = Version("2.16")
KERAS3 = Version("3.0")


class TargetError(ValueError):
    """A version that is not a version or a specifier."""


def parse_spec(text: str) -> SpecifierSet:
    """`1.15` (a bare version: that line, `==1.15.*`), `2.16.1`, or a specifier (`>=2.4,<2.16`)."""
    text = text.strip()
    if text and (text[0].isdigit()):
        try:
            version = Version(text)
        except ValueError:
            raise TargetError(f"not a version: {text!r}") from None
        release = ".".join(str(part) for part in version.release)
        return SpecifierSet(f"=={release}.*" if len(version.release) <= 2 else f"=={release}")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise TargetError(f"not a version or a version specifier: {text!r}") from None


def _lines(spec: SpecifierSet, lines: tuple[Version, ...]) -> tuple[Version, ...]:
    admitted = []
    for line in lines:
        candidates = (Version(f"{line.major}.{line.minor}{release}") for release in _RELEASES)
        if any(spec.contains(candidate, prereleases=True) for candidate in candidates):
            admitted.append(line)
    return tuple(admitted)


@dataclass(frozen=True)
class Target:
    """The releases the project may run on: None for a library means unknown (any)."""

    tensorflow: str | None = None  # a specifier, as written
    keras: str | None = None
    tensorflow_origin: str = ""  # where it came from: "--tensorflow-version", "requirements.txt:3"
    keras_origin: str = ""
    tf_keras: bool = False  # tf-keras is declared: TF 1-style `tf.compat.v1.layers` keep working

    @cached_property
    def tensorflow_lines(self) -> tuple[Version, ...] | None:
        return None if self.tensorflow is None else _lines(parse_spec(self.tensorflow), TENSORFLOW_LINES)

    @cached_property
    def keras_lines(self) -> tuple[Version, ...] | None:
        return None if self.keras is None else _lines(parse_spec(self.keras), KERAS_LINES)

    @property
    def known(self) -> bool:
        return self.tensorflow is not None or self.keras is not None

    def tensorflow_1_only(self) -> bool:
        """Every TensorFlow release the project may run on is a 1.x (or older) one."""
        lines = self.tensorflow_lines or ()
        return bool(lines) and all(line.major < 2 for line in lines) and not self._keras_3_declared()

    def admits_keras_3(self) -> bool:
        """Whether the project may run on Keras 3 (unknown: it may)."""
        if not self.known:
            return True
        tf = self.tensorflow_lines
        if tf is not None and any(line >= KERAS3_TENSORFLOW for line in tf):
            return True
        return self._keras_3_declared()

    def _keras_3_declared(self) -> bool:
        keras = self.keras_lines
        return keras is not None and any(line >= KERAS3 for line in keras)

    def tensorflow_at_least(self, version: str) -> bool:
        """Every TensorFlow release the project may run on is `version` or later (unknown:
        true, as reglint has always assumed a current TensorFlow)."""
        lines = self.tensorflow_lines
        return lines is None or all(line >= Version(version) for line in lines)

    def keras_at_least(self, version: str) -> bool:
        lines = self.keras_lines
        return lines is None or all(line >= Version(version) for line in lines)

    def describe(self) -> list[str]:
        """What `--show-settings` prints about the target."""

        def one(name: str, spec: str | None, origin: str, lines: tuple[Version, ...] | None) -> str:
            if spec is None:
                return f"{name}: unknown (no declaration found; any release)"
            shown = ", ".join(str(line) for line in lines or ()) or "no release reglint knows"
            return f"{name}: {spec or 'any'} (from {origin}; releases {shown})"

        return [
            one("tensorflow-version", self.tensorflow, self.tensorflow_origin, self.tensorflow_lines),
            one("keras-version", self.keras, self.keras_origin, self.keras_lines),
            f"tf-keras declared: {'yes' if self.tf_keras else 'no'}",
        ]


UNKNOWN = Target()
