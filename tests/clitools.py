"""Running the command line in-process (click's CliRunner), for tests that need to
monkeypatch the engine, and writing small trees of files."""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from reglint.cli import main

# A REG010 finding with a safe fix (`l=` -> `l2=`), and what the fix makes of it.
KERAS2 = "import tensorflow as tf\nr = tf.keras.regularizers.l2(l=1e-4)\n"
KERAS2_FIXED = "import tensorflow as tf\nr = tf.keras.regularizers.l2(l2=1e-4)\n"
# A REG004 finding (misspelled GraphKeys name) with a safe fix.
MISSPELLED = "import tensorflow as tf\nl2 = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)\n"
CLEAN = "import tensorflow as tf\nr = tf.keras.regularizers.l2(1e-4)\n"
# A cross-file REG001 finding: the regularizer declared in model.py, the loss built in train.py
# (line 6) without the regularization collection.
MODEL = (
    "import tensorflow.compat.v1 as tf\n\n"
    "def build(x):\n"
    "    return tf.layers.dense(x, 10, kernel_regularizer=tf.keras.regularizers.l2(1e-4))\n"
)
TRAIN = (
    "import tensorflow.compat.v1 as tf\nfrom model import build\n\n"
    "x = tf.placeholder(tf.float32, [None, 4])\n"
    "loss = tf.reduce_mean(tf.square(build(x)))\n"
    "train_op = tf.train.AdamOptimizer().minimize(loss)\n"
)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes

    @property
    def out(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, cwd: Path, input: bytes | None = None) -> Outcome:
    """`reglint ARGS` in this process (cwd changed for the call); never hides a traceback:
    an exception that escapes the CLI fails the test with it."""
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), input=input, catch_exceptions=True)
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"reglint raised instead of reporting:\n{text}")
    return Outcome(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def no_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" not in text
