"""Benchmark reporting: the machine's description and Markdown sections of docs/BENCHMARKS.md."""

import os
import platform
import re


def machine():
    """Facts about this machine for benchmark records (CPU model, cores, flags)."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    features = sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    cores = os.cpu_count()
    return {
        "cpu": model,
        "cores": cores,
        "features": features,
        "platform": platform.platform(),
        "summary": f"{model}, {cores} cores ({', '.join(features) or 'no AVX2'}), no GPU",
    }


def replace_section(path, title, body):
    """Replaces (or appends) the ``## title`` section of a Markdown file with ``body``."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
