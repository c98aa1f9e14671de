from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from reglint.model import Finding, Position, Range
from reglint.rule import Invalid, Rule, Valid
from reglint.suppress import file_level

if TYPE_CHECKING:
    from reglint.model import FileResult


class UnusedNoqa(Rule):
    """
    ## What it does
    Flags a `# noqa: REGnnn` (or `# reglint: ignore[REGnnn]`, or a file-level
    `# reglint: noqa: REGnnn`) that suppresses nothing: no finding of that enabled rule is on
    its line (in its file, for the file-level one). Codes of rules that are not enabled, and
    other tools' codes (`# noqa: E501`), are left alone, and so is a bare `# noqa`.

    Opt-in: `--extend-select REG100` (Ruff's RUF100 is its model).

    ## Why is this bad?
    A suppression outlives the finding it was written for: the code was fixed, or moved, and the
    comment now hides the next real finding on that line from review.

    ## Example
    ```python
    import tensorflow as tf

    r = tf.keras.regularizers.l2(l2=1e-4)  # noqa: REG010
    ```

    Use instead:
    ```python
    import tensorflow as tf

    r = tf.keras.regularizers.l2(l2=1e-4)
    ```

    ## Fix safety
    No fix: a comment may carry other text after the codes.

    ## References
    - [Ruff: unused-noqa (RUF100)](https://docs.astral.sh/ruff/rules/unused-noqa/)
    """

    code = "REG100"
    name = "unused-noqa"
    severity = "warning"
    tags = ("unnecessary",)
    default_enabled = False
    # a suppression comment spells `noqa` or `reglint:`
    TOKENS = (b"noqa", b"reglint:")

    VALID = [
        Valid("import tensorflow as tf\nr = tf.keras.regularizers.l2(l=1e-4)  # noqa: REG010\n", select=("REG010",)),
        # a rule that is not enabled, another tool's code, a bare noqa
        Valid("import tensorflow as tf\nr = tf.keras.regularizers.l2(l2=1e-4)  # noqa: REG010, E501\n"),
        Valid("x = 1  # noqa\n", select=("REG010",)),
        Valid(
            "# reglint: noqa: REG010\nimport tensorflow as tf\nr = tf.keras.regularizers.l1(l=0.1)\n",
            select=("REG010",),
        ),
    ]
    INVALID = [
        Invalid(
            "import tensorflow as tf\nr = tf.keras.regularizers.l2(l2=1e-4)  # noqa: REG010, E501\n",
            select=("REG010",),
            message="`# noqa: REG010` suppresses nothing on this line",
        ),
        Invalid(
            "# reglint: noqa: REG004\nimport tensorflow as tf\nr = tf.keras.regularizers.l1(l=0.1)  # noqa: REG010\n",
            select=("REG004", "REG010"),
            message="`# reglint: noqa: REG004` suppresses nothing in this file",
        ),
    ]

    @classmethod
    def unused(cls, findings: Sequence[Finding], results: Iterable[FileResult], enabled: set[str]) -> list[Finding]:
        """The suppressions of enabled rules' codes that no finding (before suppression) uses."""
        lines: dict[str, dict[int, set[str]]] = {}
        files: dict[str, set[str]] = {}
        for finding in findings:
            lines.setdefault(finding.path, {}).setdefault(finding.range.start.line, set()).add(finding.code)
            files.setdefault(finding.path, set()).add(finding.code)
        out = []
        for result in results:
            for key, codes in sorted(result.suppressions.items(), key=lambda item: abs(item[0])):
                whole = file_level(key)
                line = key if whole is None else whole
                mine = {code for code in codes if code in enabled and code != cls.code}
                used = files.get(result.path, set()) if whole else lines.get(result.path, {}).get(line, set())
                unused = sorted(mine - used)
                if not unused:
                    continue
                where = "in this file" if whole else "on this line"
                listed = ", ".join(unused)
                comment = f"# reglint: noqa: {listed}" if whole else f"# noqa: {listed}"
                at = Position(max(line, 1), 0)
                out.append(
                    Finding(
                        cls.code,
                        cls.name,
                        f"`{comment}` suppresses nothing {where}; remove {'it' if len(unused) == 1 else 'them'}",
                        result.path,
                        Range(at, at),
                    )
                )
        return out
