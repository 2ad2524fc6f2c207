"""The two-layer layout: thin stages over one library, and dvc.yaml deps that cover the code each stage runs."""
from __future__ import annotations

import ast
from pathlib import Path

import yaml

from conftest import ROOT

LIBRARY = ROOT / "doppel"


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def module_file(name: str) -> Path | None:
    """The file of a `doppel.*` module, or None for anything else (or a name that is not a module)."""
    if name != "doppel" and not name.startswith("doppel."):
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def runs_code(path: Path) -> bool:
    """A package __init__ that holds only a docstring runs nothing."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return not (path.name == "__init__.py" and all(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body))


def closure(script: Path) -> set[Path]:
    """The library files a script runs: its doppel imports, theirs, and so on (packages' __init__ too)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        for name in imported_modules(todo.pop()):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
                f = module_file(".".join(parts[:i]))
                if f is not None and f not in seen:
                    seen.add(f)
                    todo.append(f)
    return {f for f in seen if runs_code(f)}


def stage_scripts() -> list[Path]:
    return sorted((ROOT / "stages").glob("*.py"))


def test_every_stage_script_is_a_dvc_stage_and_back():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert sorted(p.stem for p in stage_scripts()) == sorted(stages)
    for name, stage in stages.items():
        assert stage["cmd"].startswith(f"python stages/{name}.py"), name


def test_dvc_deps_cover_the_code_each_stage_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        deps = [str(d).rstrip("/") for d in stage["deps"]]
        script = ROOT / "stages" / f"{name}.py"
        runs = {script, *closure(script)}
        uncovered = sorted(str(f.relative_to(ROOT)) for f in runs
                           if not any(str(f.relative_to(ROOT)) == d or str(f.relative_to(ROOT)).startswith(d + "/")
                                      for d in deps))
        assert not uncovered, f"stage {name}: dvc.yaml deps miss {uncovered}"


def test_closure_follows_imports_inside_functions(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def main():\n    from doppel.io import write_json\n")
    assert LIBRARY / "io.py" in closure(script)
    assert LIBRARY / "errors.py" in closure(script)  # io imports errors


def test_no_stage_imports_another_and_the_library_never_imports_stages():
    for script in stage_scripts():
        assert not {n for n in imported_modules(script) if n.split(".")[0] == "stages"}, script.name
    for path in LIBRARY.rglob("*.py"):
        assert not {n for n in imported_modules(path) if n.split(".")[0] == "stages"}, path


def command_imports(path: Path) -> set[str]:
    """The command modules (`doppel.<package>.command`, what cli.py dispatches to) a file imports."""
    return {n for n in imported_modules(path)
            if n.startswith("doppel.") and (n.endswith(".command") or ".command." in n) and module_file(n)}


def test_only_the_cli_imports_a_command_module(tmp_path):
    offenders = {str(p.relative_to(ROOT)): sorted(command_imports(p))
                 for p in [*LIBRARY.rglob("*.py"), *stage_scripts()] if p != LIBRARY / "cli.py" and command_imports(p)}
    assert not offenders
    planted = tmp_path / "planted.py"  # the check itself sees an import inside a function
    planted.write_text("def f():\n    from doppel.chat.command import main\n")
    assert command_imports(planted) == {"doppel.chat.command"}


def test_serving_and_export_never_reach_training(tmp_path):
    """serve/, bot/ and export/ run on a machine that only hosts the twin: nothing of training is imported."""
    training = LIBRARY / "training"
    reach = {str(p.relative_to(ROOT)): sorted(str(f.relative_to(ROOT)) for f in closure(p) if training in f.parents)
             for pkg in ("serve", "bot", "export") for p in (LIBRARY / pkg).glob("*.py")}
    assert not {k: v for k, v in reach.items() if v}
    planted = tmp_path / "planted.py"
    planted.write_text("import doppel.training.schedule\n")
    assert training / "schedule.py" in closure(planted)


def test_no_library_module_is_over_400_lines_nor_a_function_over_80():
    long_modules, long_functions = [], []
    for path in LIBRARY.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            long_modules.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno > 80:
                long_functions.append(f"{path.relative_to(ROOT)}:{node.name} ({node.end_lineno - node.lineno})")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_adapters_saved_before_the_rename_still_resolve_their_prompt_style(tmp_path):
    from litgpt.prompts import load_prompt_style

    import doppel.prompt

    (tmp_path / "prompt_style.yaml").write_text("class_path: stages.prompt.TwinChat\n")
    style = load_prompt_style(tmp_path)
    assert type(style) is doppel.prompt.TwinChat
    assert style.apply("Them: hi") == "Them: hi\nMe:"
