"""What the CPU can do for qa's int8 and quantised kernels, for `qa info`, bench and CI.

ONNX Runtime and llama.cpp choose their kernels from the CPU's vector features, so a
result that differs between machines is read against this line. Linux lists them in
/proc/cpuinfo; elsewhere the line says they are unknown.
"""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# the features that change which int8 and quantised kernels run
FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def _first_processor(cpuinfo: Path) -> dict[str, str]:
    """The fields of the first processor listed ({} when there is no such file)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() and fields:
            break
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


def _features(fields: dict[str, str]) -> list[str]:
    flags = set(fields.get("flags", "").split())
    return [feature for feature in FEATURES if feature in flags]


def vector_features(cpuinfo: Path = CPUINFO) -> list[str]:
    """The FEATURES this CPU has, in FEATURES' order."""
    return _features(_first_processor(cpuinfo))


def describe(cpuinfo: Path = CPUINFO) -> str:
    """One line: the CPU's model and its vector features."""
    fields = _first_processor(cpuinfo)
    if not fields:
        return "CPU features unknown (no /proc/cpuinfo)"
    features = _features(fields)
    if {"avx512_vnni", "avx_vnni"} & set(features):
        kernels = "int8 products by VNNI"
    elif "avx2" in features:
        kernels = "no VNNI: int8 products by AVX2, exact with 7-bit weights"
    else:
        kernels = "no AVX2: int8 products by generic kernels"
    listed = ", ".join(features) or "none of " + ", ".join(FEATURES)
    return f"{fields.get('model name', 'unknown model')} ({listed}); {kernels}"


if __name__ == "__main__":  # `python qa/cpu.py`: for CI logs, without qa's dependencies
    print(f"CPU: {describe()}")
