"""The CPU's vector features, as `qa info`, bench and CI report them (qa.cpu)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.cpu import describe, vector_features

ZEN4 = "avx2 avx512f avx512_vnni fma sse4_2"
EPYC_ROME = "avx2 fma sse4_2"


def cpuinfo(tmp_path: Path, model: str, flags: str) -> Path:
    block = f"processor\t: 0\nmodel name\t: {model}\nflags\t\t: {flags}\n\n"
    second = "processor\t: 1\nmodel name\t: other\nflags\t\t: \n\n"
    path = tmp_path / "cpuinfo"
    path.write_text(block + second, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flags", "features", "kernels"),
    [
        (ZEN4, ["avx2", "avx512f", "avx512_vnni"], "int8 products by VNNI"),
        ("avx2 avx_vnni", ["avx2", "avx_vnni"], "int8 products by VNNI"),
        (EPYC_ROME, ["avx2"], "no VNNI: int8 products by AVX2, exact with 7-bit weights"),
        ("sse4_2", [], "no AVX2: int8 products by generic kernels"),
    ],
)
def test_features_and_the_kernels_they_choose(
    tmp_path: Path, flags: str, features: list[str], kernels: str
) -> None:
    path = cpuinfo(tmp_path, "Some CPU", flags)
    assert vector_features(path) == features
    assert describe(path).endswith(f"; {kernels}")
    assert describe(path).startswith("Some CPU (")


def test_no_cpuinfo_says_so(tmp_path: Path) -> None:
    assert vector_features(tmp_path / "absent") == []
    assert describe(tmp_path / "absent") == "CPU features unknown (no /proc/cpuinfo)"
