"""promptfoo configs -> an evalkit plan and suite (`evalkit import promptfoo FILE`).

`convert` reads a `promptfooconfig.yaml` and everything it names (prompt files, test
files, globs) and returns the plan and suite as data, plus every part it could not
convert with the file:line it was written at and why. Nothing is dropped silently.
"""

from evalkit.workspace.promptfoo.convert import convert
from evalkit.workspace.promptfoo.model import Conversion, Unconverted

__all__ = ["Conversion", "Unconverted", "convert"]
