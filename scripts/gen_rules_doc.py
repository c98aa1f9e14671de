"""Write the rule reference under rules/ from the rules' docstrings (the docstring is the
documentation): rules/README.md, the index, and one page per rule, rules/REGnnn.md, the page a
finding links to.

python scripts/gen_rules_doc.py          # rewrite rules/
python scripts/gen_rules_doc.py --check  # exit 1 if rules/ is stale (the tests run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reglint.rule import Rule, all_rules  # noqa: E402

TARGET = ROOT / "rules"
NOTICE = "Generated from the rule's docstring by `python scripts/gen_rules_doc.py`; do not edit by hand."


def index() -> str:
    out = [
        "# reglint rules",
        "",
        NOTICE.replace("the rule's docstring", "each rule's docstring"),
        "`reglint rule CODE` prints the same text as the rule's page.",
        "",
        "| code | name | fix | default | summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in all_rules():
        default = "on" if rule.default_enabled else "off (opt-in)"
        out.append(
            f"| [{rule.code}]({rule.code}.md) | {rule.name} | {rule.fix_label()} | {default} | {rule.summary()} |"
        )
    return "\n".join(out) + "\n"


def page(rule: type[Rule]) -> str:
    default = "on by default" if rule.default_enabled else "off by default (opt-in: `--select`)"
    head = [
        f"# {rule.code} {rule.name}",
        "",
        f"Fix: {rule.fix_label()}. {default.capitalize()}.",
        "",
        rule.documentation(),
    ]
    return "\n".join([*head, "", "---", NOTICE, "[All rules](README.md)"]) + "\n"


def render() -> dict[str, str]:
    pages = {"README.md": index()}
    pages.update((f"{rule.code}.md", page(rule)) for rule in all_rules())
    return pages


def main() -> int:
    pages = render()
    written = {path.name for path in TARGET.glob("*.md")} if TARGET.is_dir() else set()
    if "--check" in sys.argv:
        stale = sorted(
            name
            for name, text in pages.items()
            if not (TARGET / name).exists() or (TARGET / name).read_text(encoding="utf-8") != text
        ) + sorted(written - set(pages))
        if stale:
            print(f"rules/ is stale ({', '.join(stale)}): run python scripts/gen_rules_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.mkdir(exist_ok=True)
    for name in written - set(pages):
        (TARGET / name).unlink()
    for name, text in pages.items():
        (TARGET / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
