"""Writes the flag tables of README.md and docs/*.md from the config
dataclasses (kd_tf.cli.flags_markdown), between <!-- flags:BINARY --> and
<!-- /flags:BINARY -->. tests/config_test.py fails when they are stale.

  .venv/bin/python tools/update_readme_flags.py
"""

import glob
import os
import re
import sys

ROOT = os.environ.get("BUILD_WORKSPACE_DIRECTORY") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kd_tf import cli  # noqa: E402


def render(readme):
    def table(match):
        binary = match.group(1)
        return f"<!-- flags:{binary} -->\n{cli.flags_markdown(binary)}\n<!-- /flags:{binary} -->"

    return re.sub(r"<!-- flags:(\w+) -->.*?<!-- /flags:\1 -->", table, readme, flags=re.S)


def documents(root=ROOT):
    """The Markdown files that may hold flag tables."""
    return [os.path.join(root, "README.md"), *sorted(glob.glob(os.path.join(root, "docs", "*.md")))]


if __name__ == "__main__":
    for path in documents():
        with open(path) as f:
            text = f.read()
        if render(text) != text:
            with open(path, "w") as f:
                f.write(render(text))
            print(f"wrote the flag tables of {path}")
