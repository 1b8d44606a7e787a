"""Packages follow the data flow: a module imports only from its own layer or the layers below.

audio/data -> frontend -> context -> targets -> objectives -> models -> train -> decode -> bin
(`ssltk/config.py` is the shared config machinery at the bottom; `benchmark.py` measures models and
training steps for `bin.bench`; `testing` holds the tests' fixtures and may use everything, while no
library module imports it.) Function-level imports count too.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ssltk"
LAYERS = ["config", "data", "frontend", "context", "targets", "objectives", "models", "train", "decode",
          "benchmark", "bin", "testing"]


def layer_of(module: str) -> str:
    """'ssltk.frontend.conv' -> 'frontend'; 'ssltk.config' -> 'config'."""
    return module.split(".")[1]


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.startswith("ssltk.")]
    return found


def test_every_module_imports_only_its_layer_or_below():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for line, module in imports(path):
            if LAYERS.index(layer_of(module)) > LAYERS.index(own):
                upward.append(f"{path.relative_to(ROOT.parent)}:{line} imports {module}")
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_every_package_has_a_layer():
    packages = {p.name.removesuffix(".py") for p in ROOT.iterdir() if not p.name.startswith(("_", "."))}
    assert packages <= set(LAYERS), packages - set(LAYERS)
