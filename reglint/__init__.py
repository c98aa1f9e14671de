"""reglint: find regularization pitfalls in TensorFlow and Keras code, and fix them."""

__version__ = "0.1.0"

# where the project lives, and each rule's page (rules/REGnnn.md, generated from its docstring)
__url__ = "https://github.com/reglint/reglint"
RULES_URL = f"{__url__}/blob/main/rules/"


def rule_url(code: str) -> str:
    return f"{RULES_URL}{code}.md"
