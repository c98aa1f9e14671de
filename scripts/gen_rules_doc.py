"""Write docs/rules.md from the rules' docstrings (the docstring is the documentation).

python scripts/gen_rules_doc.py          # rewrite docs/rules.md
python scripts/gen_rules_doc.py --check  # exit 1 if docs/rules.md is stale (the tests run this)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reglint.rule import all_rules  # noqa: E402

TARGET = ROOT / "docs" / "rules.md"


def render() -> str:
    rules = all_rules()
    out = [
        "# reglint rules",
        "",
        "Generated from each rule's docstring by `python scripts/gen_rules_doc.py`; do not edit by hand.",
        "`reglint rule CODE` prints the same text.",
        "",
        "| code | name | fix | default | summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in rules:
        default = "on" if rule.default_enabled else "off (opt-in)"
        out.append(
            f"| [{rule.code}](#{rule.code.lower()}-{rule.name}) | {rule.name} | {rule.fix_label()} "
            f"| {default} | {rule.summary()} |"
        )
    for rule in rules:
        body = re.sub(r"^## ", "### ", rule.documentation(), flags=re.M)
        out += ["", f"## {rule.code} {rule.name}", "", body]
    return "\n".join(out) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/gen_rules_doc.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
