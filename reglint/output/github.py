"""`--output-format github`: GitHub Actions workflow commands, one per finding, `::error`,
`::warning` or `::notice` by the rule's severity, which GitHub shows as annotations on the pull
request's changed lines.

    ::error file=src/train.py,line=21,col=29,endLine=21,endColumn=64,title=REG004 (misspelled-collection-key)::...

Escaping follows the runner's rules (actions/toolkit `command.ts`): in the message `%`, `\\r`
and `\\n` become `%25`, `%0D` and `%0A`; in a property value `:` and `,` also become `%3A` and
`%2C`. A notebook's finding is placed at its line in the `.ipynb` file (the file GitHub
annotates) and its message starts with the cell: `cell 3:2:5: ...`.
"""

from __future__ import annotations

from reglint.model import Position, RunResult
from reglint.output.base import Files, View


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: object) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{kind} {props}::{escape_data(message)}"


# a rule's severity as a workflow command (an `error`, `warning` or `notice` annotation)
COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def format_github(result: RunResult, view: View) -> str:
    from reglint.rule import rules_by_code  # the rule modules: only for their severities

    severity = {code: rule.severity for code, rule in rules_by_code().items()}
    files = Files(view.sources)
    entries: list[tuple[tuple[object, ...], str]] = []
    for f in result.findings:
        start = files.file_position(f.path, f.range.start)
        end = files.file_position(f.path, f.range.end)
        prefix = (
            f"{files.label(f.path, f.range.start.line)}:{f.range.start.column + 1}: " if files.notebook(f.path) else ""
        )
        line = command(
            COMMANDS[severity.get(f.code, "error")],
            f"{prefix}{f.code} {files.cited(f.path, f.message)}",
            file=f.path,
            line=start.line,
            col=start.column + 1,
            endLine=end.line,
            endColumn=end.column + 1,
            title=f"{f.code} ({f.name})",
        )
        entries.append((f.sort_key(), line))
    for e in result.parse_errors:
        where = Position(max(e.line, 1), e.column)
        at = files.file_position(e.path, where)
        prefix = f"{files.label(e.path, where.line)}:{where.column + 1}: " if files.notebook(e.path) else ""
        line = command(
            "error",
            f"{prefix}cannot parse: {e.message}",
            file=e.path,
            line=at.line,
            col=at.column + 1,
            title="reglint (parse error)",
        )
        entries.append(((e.path, e.line, e.column, "", ""), line))
    for path, reason in result.read_errors:
        entries.append(((path, 0, 0, "", ""), command("error", reason, file=path, line=1, title="reglint (io error)")))
    return "".join(text + "\n" for _, text in sorted(entries, key=lambda e: e[0]))
