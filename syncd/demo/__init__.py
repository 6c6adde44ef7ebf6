"""``syncd demo``: two-way sync between a seeded CRM and a seeded SQLite "web shop"."""

from syncd.demo.files import DemoFiles
from syncd.demo.script import DemoError, DemoResult, Narrator, run_demo

__all__ = ["DemoError", "DemoFiles", "DemoResult", "Narrator", "run_demo"]
