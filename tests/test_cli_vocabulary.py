"""One name and one meaning per concept across every command's flags (issue 11).

The walk builds the real top-level parser, so a command added later is checked too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from stylebias.cli import build_parser, main
from stylebias.cli._options import HelpFormatter, add_output_dir, add_progress
from stylebias.errors import MissingFileError
from stylebias.recipes import RECIPE_DIR, list_recipes, resolve_config

# concept -> (the one visible spelling, spellings that must never be visible)
CONCEPTS = {
    "output folder": ("--output-dir", ("--output", "--out", "--outdir", "--output-folder", "-o")),
    "workers": ("--workers", ("--num-workers", "--jobs", "-j", "--n-workers", "--num-threads")),
    "device": ("--device", ("--devices", "--gpu", "--cuda")),
    "cache": ("--cache-dir", ("--cache", "--cache-folder")),
}
# switches that must be --X/--no-X pairs (never --no-X or --X alone), with their default
SWITCHES = {"pretrained": None, "progress": True, "resume": True, "plot": True, "normalise": True,
            "channels-last": True, "download": True}


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _visible(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS]


def vocabulary_problems(name: str, parser: argparse.ArgumentParser) -> list[str]:
    """Every breach of the one-spelling rules in one command's parser."""
    problems = []
    actions = _visible(parser)
    flags = {s: a for a in actions for s in a.option_strings}
    formatter = HelpFormatter(prog=name)
    for concept, (good, bad) in CONCEPTS.items():
        problems += [f"{name}: {s} is a second spelling of {concept}; use {good}" for s in bad if s in flags]
    for switch, default in SWITCHES.items():
        on, off = f"--{switch}", f"--no-{switch}"
        if (on in flags) != (off in flags) or (on in flags and flags[on] is not flags[off]):
            problems.append(f"{name}: {on}/{off} must be one BooleanOptionalAction")
        if on in flags and default is not None and flags[on].default not in (default, None):
            problems.append(f"{name}: {on} defaults to {flags[on].default}, expected {default}")
        if on in flags and flags[on].default is None and f"(default: {'on' if default else 'off'})" not in flags[on].help:
            if default is not None:
                problems.append(f"{name}: {on} must document its default")
    for flag, action in flags.items():  # a negative switch exists only as the pair's second half
        if flag.startswith("--no-") and not isinstance(action, argparse.BooleanOptionalAction):
            problems.append(f"{name}: {flag} is a lone negative switch; make it --{flag[5:]}/{flag}")
    if "--device" in flags:
        device = flags["--device"]
        if device.default != "auto" and not (device.default is None and "(default: auto)" in device.help):
            problems.append(f"{name}: --device defaults to {device.default!r}, expected 'auto'")
    for action in actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        flag = action.option_strings[-1]
        if not action.help:
            problems.append(f"{name}: {flag} has no help")
            continue
        shown = formatter._get_help_string(action)
        if not action.required and "default" not in shown.lower():
            problems.append(f"{name}: {flag}'s help does not show its default")
    return problems


def test_every_command_uses_one_spelling_per_concept_and_documents_defaults():
    commands = _commands()
    assert {"train", "demo", "corrupt", "robustness", "shape-bias", "explain", "retrieval", "stylize",
            "train-decoder", "download", "list"} <= set(commands)
    problems = [p for name, parser in commands.items() for p in vocabulary_problems(name, parser)]
    assert problems == []


def test_the_walk_fails_on_a_second_spelling_and_a_lone_negative_switch():
    bad = argparse.ArgumentParser()
    bad.add_argument("--output", help="folder (default: x)")
    bad.add_argument("--num-workers", type=int, default=0, help="workers")
    bad.add_argument("--no-progress", action="store_true", help="hide bars")
    bad.add_argument("--device", default="cpu", help="where")
    bad.add_argument("--quiet", action="store_true")
    text = "\n".join(vocabulary_problems("bad", bad))
    for expected in ("--output is a second spelling", "--num-workers is a second spelling",
                     "--progress/--no-progress", "--device defaults to 'cpu'", "--quiet has no help"):
        assert expected in text
    good = argparse.ArgumentParser()
    add_output_dir(good, "out")
    add_progress(good)
    assert vocabulary_problems("good", good) == []


def test_every_hidden_alias_parses_into_its_visible_flags_destination():
    checked = 0
    for name, parser in _commands().items():
        visible = {a.dest for a in _visible(parser)}
        for action in parser._actions:
            if action.option_strings and action.help is argparse.SUPPRESS:
                assert action.dest in visible, f"{name}: hidden {action.option_strings} has no visible twin"
                checked += 1
    assert checked >= 8  # --output in 5 commands, --num-workers in 5


@pytest.mark.parametrize(("argv", "dest", "value"), [
    (["demo", "--output", "d"], "output_dir", Path("d")),
    (["explain", "a.png", "--model", "m", "--output", "d"], "output_dir", Path("d")),
    (["retrieval", "--model", "m", "--query", "q", "--gallery", "g", "--num-workers", "3"], "num_workers", 3),
    (["stylize", "--content-dir", "c", "--style-dir", "s", "--output-dir", "o", "--num-workers", "5"], "workers", 5),
])
def test_an_old_spelling_still_works_and_says_so_on_stderr(argv, dest, value, capsys):
    old = build_parser().parse_args(argv)
    captured = capsys.readouterr()
    assert getattr(old, dest) == value
    assert "deprecated" in captured.err and captured.out == ""
    new_flag = "--output-dir" if dest == "output_dir" else "--workers"
    new = build_parser().parse_args([new_flag if a in ("--output", "--num-workers") else a for a in argv])
    assert vars(new) == vars(old)
    assert capsys.readouterr().err == ""


def test_switches_parse_both_ways_and_default_on():
    parse = build_parser().parse_args
    assert parse(["robustness", "--model", "m", "--data", "d"]).pretrained is True
    assert parse(["robustness", "--model", "m", "--data", "d", "--no-pretrained"]).pretrained is False
    assert parse(["demo"]).progress is True and parse(["demo", "--no-progress"]).progress is False
    decoder = ["train-decoder", "--content-dir", "c", "--style-dir", "s", "--output-dir", "o"]
    assert parse(decoder).resume is True and parse([*decoder, "--no-resume"]).resume is False
    assert parse(["train"]).pretrained is None  # unset: the config file or TrainConfig decides (off)


def test_list_flags_take_spaces_commas_and_repeats():
    parse = build_parser().parse_args
    args = parse(["robustness", "--model", "m", "--data", "d", "--severities", "1,2", "3", "--severities", "5",
                  "--corruptions", "fog,snow"])
    assert args.severities == [1, 2, 3, 5]
    assert args.corruptions == ["fog", "snow"]
    assert parse(["robustness", "--model", "m", "--data", "d"]).severities == [1, 2, 3, 4, 5]
    assert parse(["train", "--test-domains", "sketch,photo", "art"]).test_domains == ["sketch", "photo", "art"]
    with pytest.raises(SystemExit):
        parse(["robustness", "--model", "m", "--data", "d", "--severities", "one"])


def test_train_help_documents_data_forms_methods_models_and_recipes(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for text in ("folder:PATH", "domains:PATH", "cifar100:PATH", "mixstyle", "padain", "erm", "torchvision:NAME",
                 "small_resnet", "pacs_mixstyle", "--no-pretrained", "(default: 600)"):
        assert text in out


@pytest.mark.parametrize("kind", ["models", "methods", "datasets", "layers", "presets", "artifacts", "metrics",
                                  "recipes", "corruptions"])
def test_list_every_kind_is_non_empty_json(kind, capsys):
    assert main(["list", kind, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["name"] and isinstance(r["summary"], str) for r in rows)


def test_list_models_and_methods_name_what_the_commands_accept(capsys):
    main(["list", "models", "--json"])
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert "torchvision:NAME[.WEIGHTS]" in names and "path/file.py:callable" in names
    main(["list", "methods", "--json"])
    assert {"erm", "mixstyle", "padain", "dsu", "efdmix"} <= {r["name"] for r in json.loads(capsys.readouterr().out)}
    main(["list", "recipes", "--json"])
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == list_recipes()


def test_recipes_ship_with_the_package_and_resolve_from_any_directory(tmp_path, monkeypatch):
    assert {"pacs_mixstyle", "cifar100_padain", "imagenet_stylized"} <= set(list_recipes())
    monkeypatch.chdir(tmp_path)
    assert resolve_config("pacs_mixstyle") == RECIPE_DIR / "pacs_mixstyle.toml"
    assert resolve_config("pacs_mixstyle.toml") == RECIPE_DIR / "pacs_mixstyle.toml"
    (tmp_path / "pacs_mixstyle.toml").write_text('steps = 1\n')
    assert resolve_config("pacs_mixstyle.toml") == Path("pacs_mixstyle.toml")  # a real file wins
    with pytest.raises(MissingFileError, match="pacs_mixstyle"):
        resolve_config("pacs_mixstlye")
    with pytest.raises(MissingFileError):
        resolve_config("elsewhere/pacs_mixstyle.toml")  # a path is never redirected to a recipe


def test_train_finds_a_recipe_by_name_and_a_failed_start_leaves_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "--config", "pacs_mixstyle", "--steps", "0", "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "steps" in err and "config file" not in err  # the recipe was read; the bad value refused
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_a_missing_download_suggests_no_flag_that_a_command_may_lack(tmp_path):
    from stylebias.hub import download

    with pytest.raises(MissingFileError) as err:  # a manual artifact: never fetched, message only
        download("contrastive-decoder", tmp_path)
    assert "--cache-dir" not in str(err.value) and "STYLEBIAS_HOME" in str(err.value)
