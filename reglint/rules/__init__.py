"""One module per rule. A module here that defines a Rule subclass with a `code` registers
it; nothing else needs editing.

## The prefilter tokens (`TOKENS`): read this before adding a rule

Most files of a large repository cannot produce any finding, and parsing them with libcst is
the most expensive thing reglint does (about ten times `ast.parse`). So before parsing, the
runner (`reglint.runner.analyse_many`, through `reglint.prefilter.may_matter` /
`contains_token`) looks for the enabled rules' tokens in the file's raw bytes, one
substring search per token, and a file that contains none of them is skipped: not parsed,
no finding, no fact, no parse error reported. Skipped files cost a byte scan and nothing
else, and the cache stores nothing for them.

The contract, for every rule:

    TOKENS = (b"...", (b"...", b"..."), ...)
        # EVERY file on which this rule can report a finding, or record a fact a project
        # judgement needs whatever the rest of the project holds, contains one of the byte
        # strings, or ALL the byte strings of one of the tuples

- A token is matched anywhere in the bytes (code, strings, comments alike), case-sensitively,
  except that in a Python file docstrings are blanked first (`prefilter.without_docstrings`,
  from the `ast` parse every Python file gets before libcst's): no rule may need a docstring.
- A `Word(b"...")` (reglint.rule.Word) matches in a Python file only as a whole word, not
  inside a longer name: `Word(b"sum")` is in `sum(w)` and `np.sum(x)`, not in `cumsum` nor
  in `reduce_sum` (which needs a Word of its own). Use it for a name the recogniser compares whole (a
  method name, the last part of a resolved name, an attribute): the resolver only knows
  names the file spells out, so such a name stands in the file as a word. Generic words
  (`sum`, `norm`, `variables`, `gradients`) are parts of many other names in a TensorFlow
  code base.
  Pick the shortest spelling every variant of the pattern necessarily contains
  (`b"regulariz"` covers `regularizers`, `kernel_regularizer`, `l2_regularizer`; a rule
  that resolves names through imports must list the attribute it looks for, not the module
  alias, which the user may rename).
- A tuple says "needs A and B": a pattern that needs a training call and a penalty in the
  same file is `(b"minimize", b"l2_loss")`, not two tokens that each let in every file that
  trains or every file that computes an L2 loss. On a large repository the difference is
  most of the parse time: generic words (`variables`, `initializer`, `gradients`) are in
  most files of a TensorFlow code base; together with a regularization word they are not.
- Facts count: a project-wide rule must list the tokens of every fact it records in any file
  (a file that only *defines* what another file reads must not be skipped), unless the fact
  matters only when the project holds some other fact: then the rule asks for those files
  from `wanted_tokens(project)` (or, for an import chain, `wanted_modules(project)`), and the
  runner analyses the files that match with every rule that has not analysed them yet, after
  the first pass, until no rule wants more. That includes files another rule's tokens let in:
  the prefilter chooses the rules per file, so a layers module that REG008 analyses is not
  analysed by REG001 until a training loop elsewhere is built from it. REG001 does this for
  shape 2 (the training files matter only when a regularizer is declared and nothing reads
  the collection) and shape 3 across modules (the modules a custom loop's model is built
  from).
- An entry that another entry implies is redundant (the shorter token already matches, the
  smaller tuple already holds); the engine drops it. More entries never make the prefilter
  unsafe, only slower.
- An empty TOKENS means the rule never causes a file to be parsed: it then only sees files
  another enabled rule lets through. Every rule should declare its tokens.

How it is proved: tests/test_rules.py::test_prefilter_never_skips_what_matters runs every
VALID and INVALID example of every rule with and without the prefilter, alone and with every
default rule enabled, and requires the same findings (and, with the prefilter, no fact that the run without it lacks);
tests/test_fixtures.py::test_prefilter_keeps_fixtures requires every fixture's `before.py`
to pass `may_matter`; tests/test_parallel_cache.py checks that the runner skips exactly what
`may_matter` rejects. So a rule whose examples are complete cannot forget a token without a
failing test. benchmarks/bench.py prints how many files and lines pass the prefilter of the
default rules on a corpus.
"""

import pkgutil as _pkgutil


def rule_codes() -> tuple[str, ...]:
    """The code of every rule, read from the module names (`reg001_...` is REG001;
    tests/test_meta.py holds every module to that naming), without importing the rules: the
    configuration is checked, and a cached run answered, without loading libcst."""
    return tuple(sorted(info.name.split("_", 1)[0].upper() for info in _pkgutil.iter_modules(__path__)))
