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
