"""bench/llm_client.py end to end with tiny numbers: it starts both fake LLMs, streams through the old and the new
path of both adapters, prints a figure for each and stops what it started. Never asserts on speed."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURE = re.compile(r"^  (old|new) \(.*\) +median +([0-9.]+) us CPU per chunk", re.MULTILINE)


def test_the_llm_client_benchmark_measures_both_ways_for_both_vendors():
    done = subprocess.run(
        [sys.executable, "bench/llm_client.py", "--k", "5", "--replies", "3", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("anthropic: ")
    assert len(sections) == 2 and "openai: K=5, 3 replies x 2 rounds" in sections[0]
    for section in sections:
        figures = FIGURE.findall(section)
        assert [way for way, _ in figures] == ["old", "new"]
        assert all(float(value) > 0 for _, value in figures)
        assert "new / old = " in section
