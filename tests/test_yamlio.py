from pathlib import Path

import pytest

from mediamix.errors import SpecError
from mediamix.yamlio import read_yaml


def test_reads_files_and_text(tmp_path: Path):
    p = tmp_path / "a.yaml"
    p.write_text("budget: 3\nchannels: []\n")
    assert read_yaml(p) == {"budget": 3, "channels": []}
    assert read_yaml(str(p)) == {"budget": 3, "channels": []}
    assert read_yaml("budget: 4") == {"budget": 4}


def test_errors_name_the_file_and_the_fix(tmp_path: Path):
    with pytest.raises(SpecError, match="problem file '.*nope.yaml' does not exist. Fix"):
        read_yaml(tmp_path / "nope.yaml", "problem")
    with pytest.raises(SpecError, match="does not exist"):
        read_yaml("missing-config.yml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(SpecError, match="config file '.*bad.yaml' is not valid YAML"):
        read_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match="must hold a mapping .*not list"):
        read_yaml(lst)
    with pytest.raises(SpecError, match="problem must hold a mapping"):
        read_yaml("[1, 2]\n", "problem")


# ---- guards against hostile or broken YAML --------------------------------------------------
import time  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from mediamix.cli import cli  # noqa: E402
from mediamix.yamlio import MAX_ALIAS_NODES, MAX_NESTING, MAX_YAML_BYTES, parse_yaml  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def laughs(levels: int = 9, width: int = 9) -> list[str]:
    """The lines of a billion-laughs document: ``a<i>`` is ``width`` aliases of ``a<i-1>``."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return lines


def bomb_in(where: str) -> str:
    """A 9-level alias bomb whose last level is the value at ``where``."""
    defs = "defs:\n" + "\n".join("  " + line for line in laughs()) + "\n"
    return {
        "top": "\n".join(laughs()) + "\n",
        "model.events": defs + "model:\n  events: *a8\n",
        "data.channels": defs + "data:\n  date: date\n  kpi: sales\n  channels: *a8\n",
        "channel name": defs + "budget: 10\nchannels:\n  - name: *a8\n"
        "    response: {type: log1p, a: 1}\n",
    }[where]


@pytest.mark.parametrize("where", ["top", "model.events", "data.channels", "channel name"])
def test_alias_bombs_are_refused_fast_naming_the_limit(where):
    text = bomb_in(where)
    assert len(text) < 1200
    t0 = time.perf_counter()
    with pytest.raises(SpecError) as err:
        read_yaml(text)
    assert time.perf_counter() - t0 < 2.0
    msg = str(err.value)
    assert msg.startswith("config is refused: its aliases (*name) expand to ")
    assert f"the limit is {MAX_ALIAS_NODES:,} values added by aliases" in msg
    assert "write the values out" in msg


def test_aliases_within_the_budget_and_merge_keys_still_work():
    text = "base: &b {a: 1, c: 2}\nx:\n  <<: *b\n  a: 3\ny: *b\nlist: &l [1, 2]\nz: [*l, *l]\n"
    assert read_yaml(text) == {
        "base": {"a": 1, "c": 2},
        "x": {"a": 3, "c": 2},
        "y": {"a": 1, "c": 2},
        "list": [1, 2],
        "z": [[1, 2], [1, 2]],
    }
    assert len(parse_yaml("\n".join(laughs(levels=4, width=9)))["a3"]) == 9  # 9^3 = 729 values


def test_a_recursive_alias_and_deep_nesting_are_refused():
    with pytest.raises(SpecError, match=r"an alias refers to the block that contains it .line 1"):
        read_yaml("a: &x [1, *x]\n")
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match=rf"nested 5000 deep; the limit is {MAX_NESTING}"):
        read_yaml("a: " + "[" * 5000 + "]" * 5000)
    assert time.perf_counter() - t0 < 1.0
    value, depth = read_yaml("a: " + "[" * 50 + "]" * 50)["a"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == 50


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("model:\n  form: additive\n  form: multiplicative\n", "form", (2, 3)),
        ("budget: 10\nkpi_value: 1\nbudget: 20\n", "budget", (1, 3)),
        ("channels:\n  - name: tv\n    name: radio\n", "name", (2, 3)),
    ],
)
def test_a_duplicate_key_is_refused_naming_the_key_and_lines(text, key, lines):
    with pytest.raises(SpecError) as err:
        read_yaml(text)
    assert str(err.value) == (
        f"config is refused: the key '{key}' is written twice in one mapping (lines {lines[0]} "
        f"and {lines[1]}); YAML would silently keep the last one. Fix: keep one of them."
    )


def test_non_utf8_files_name_the_byte_offset_and_the_fix(tmp_path: Path):
    latin = tmp_path / "problem.yaml"
    latin.write_bytes("# f\u00fcr die Planung\nbudget: 10\n".encode("latin-1"))
    with pytest.raises(SpecError) as err:
        read_yaml(latin, "problem")
    assert str(err.value).startswith(
        f"problem file '{latin}' is not UTF-8 text: byte 0xfc on line 1, at offset 3 "
    )
    assert "Fix: save the file as UTF-8" in str(err.value)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(bytes(range(128, 256)) + bytes(range(128, 256)) + b"\xe0" * 44)
    with pytest.raises(
        SpecError, match=r"byte 0x80 on line 1, at offset 0 .*save the file as UTF-8"
    ):
        read_yaml(garbage)


@pytest.mark.parametrize(
    "text, message",
    [
        ("model:\n\tform: additive\n", "is not valid YAML: while scanning for the next token; "
         "found character that cannot start any token; line 2, column 1 (a tab: YAML indents "
         "with spaces only; replace the tabs by spaces)"),
        ("- 1\n- 2\n", "must hold a mapping (key: value lines), not list"),
        ("just a sentence\n", "must hold a mapping (key: value lines), not str"),
        ("model: !!python/object/apply:os.system ['touch TOUCHED']\n",
         "is not valid YAML: could not determine a constructor for the tag"),
    ],
)  # fmt: skip
def test_tabs_lists_scalars_and_python_tags_are_clear(text, message, tmp_path: Path):
    p = tmp_path / "model.yaml"
    p.write_text(text.replace("TOUCHED", str(tmp_path / "touched")))
    with pytest.raises(SpecError) as err:
        read_yaml(p)
    assert message in str(err.value) and str(err.value).startswith(f"config file '{p}'")
    assert not (tmp_path / "touched").exists()  # nothing was executed


def test_empty_and_comment_only_files_read_as_empty(tmp_path: Path):
    for text in ("", "# only a comment\n\n"):
        p = tmp_path / "empty.yaml"
        p.write_text(text)
        assert read_yaml(p) == {}


@pytest.mark.parametrize(
    "command, text",
    [
        (["fit", str(EXAMPLES / "weekly_demo.csv"), "--method", "map", "--out", "OUT",
          "--config"], bomb_in("model.events")),
        (["fit", str(EXAMPLES / "weekly_demo.csv"), "--method", "map", "--out", "OUT",
          "--config"], "model:\n  form: additive\n  form: multiplicative\n"),
        (["optimize"], bomb_in("channel name")),
        (["optimize"], None),  # Latin-1 comment
        (["fit", str(EXAMPLES / "weekly_demo.csv"), "--method", "map", "--out", "OUT",
          "--config"], None),  # random bytes
    ],
)  # fmt: skip
def test_cli_refuses_bad_yaml_with_exit_2_and_no_traceback(command, text, tmp_path: Path):
    p = tmp_path / "in.yaml"
    if text is not None:
        p.write_text(text)
    elif command == ["optimize"]:
        p.write_bytes(b"# f\xfcr\n" + (EXAMPLES / "optimize_departments.yaml").read_bytes())
    else:
        p.write_bytes(bytes((i * 37 + 11) % 256 for i in range(300)))
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command] + [str(p)]
    t0 = time.perf_counter()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.output.startswith("error: ")
    assert any(w in res.output for w in ("refused", "not UTF-8 text"))
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "out").exists()


def test_a_file_beyond_the_size_limit_is_refused_unread(tmp_path: Path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_YAML_BYTES + 1)  # sparse: no disk written, no byte read
    with pytest.raises(SpecError) as err:
        read_yaml(big, "problem")
    assert str(err.value) == (
        f"problem file '{big}' is 16,777,217 bytes; the limit is 16,777,216 bytes (16 MiB) of "
        "YAML. Fix: check that this is the right file."
    )
    with pytest.raises(SpecError, match=r"^config is refused: 16,777,217 characters; the limit"):
        parse_yaml("#" * (MAX_YAML_BYTES + 1))
