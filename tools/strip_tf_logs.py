"""Strip TensorFlow's own start-up log lines from the stderr outputs saved in notebooks.

TensorFlow 2.21 writes absl/C++ lines (oneDNN, CUDA, CPU features, "remapper failed") to the
kernel's stderr before any setting can silence them. `make notebooks` runs this after executing
each lesson, so the committed outputs hold only what the lesson itself printed; real warnings
(Python's, Keras') stay. Usage: python tools/strip_tf_logs.py NOTEBOOK.ipynb ...
"""

import json
import re
import sys
from pathlib import Path

# absl's format: a severity letter, MMDD, the time, the thread, file:line].
ABSL_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\] ")
BEFORE_ABSL = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
# The second line of cpu_feature_guard's message.
CONTINUATION = re.compile(r"^To enable the following instructions: .* rebuild TensorFlow ")


def strip(text):
    """``text`` without TensorFlow's log lines (and the line continuing one of them)."""
    kept, after_log = [], False
    for line in text.splitlines(keepends=True):
        is_log = (
            line.startswith(BEFORE_ABSL) or ABSL_LINE.match(line)
            or (after_log and CONTINUATION.match(line))
        )
        after_log = bool(is_log)
        if not is_log:
            kept.append(line)
    return "".join(kept)


def clean(path):
    """Strip one notebook in place (atomically); return the number of lines removed."""
    notebook = json.loads(Path(path).read_text())
    removed = 0
    for cell in notebook["cells"]:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "".join(output["text"])
                stripped = strip(text)
                removed += text.count("\n") - stripped.count("\n")
                if not stripped.strip():
                    continue
                output["text"] = stripped.splitlines(keepends=True)
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    temporary = Path(path).with_suffix(".ipynb.part")
    temporary.write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
    temporary.replace(path)
    return removed


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(f"{argument}: {clean(argument)} TensorFlow log lines removed")
