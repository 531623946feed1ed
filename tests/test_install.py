"""What the install files promise: exact pins, torch's CPU pin, the Spark extra in step."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def test_every_requirement_is_an_exact_pin_and_torch_is_the_cpu_pin():
    for name in ("requirements.txt", "requirements-nodeps.txt", "requirements-spark.txt"):
        for pin in _pins(ROOT / name):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.+]*", pin), (name, pin)
    torch = [p for p in _pins(ROOT / "requirements.txt") if p.split("==")[0].lower() == "torch"]
    assert torch == ["torch==2.13.0"]


def test_the_spark_extra_pins_what_requirements_spark_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["spark"] == _pins(ROOT / "requirements-spark.txt")
