"""reglint parses with libcst's node validation switched off (see
reglint.sources._parsing_without_validation): the trees must be the same, and validation
must be back on for every node built afterwards."""

from __future__ import annotations

import libcst as cst
import pytest

from reglint.sources import SourceError, parse_python
from tests.fixture_harness import fixture_cases

SOURCES = [case.source("before") for case in fixture_cases()]


def test_trees_equal_the_validated_parse() -> None:
    for raw in SOURCES:
        assert parse_python(raw).deep_equals(cst.parse_module(raw))


def test_validation_is_back_after_a_parse_and_after_a_failed_parse() -> None:
    parse_python(b"x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    with pytest.raises(SourceError):
        parse_python(b"def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1x")
