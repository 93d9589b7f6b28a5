"""The ``bgan-summarize`` console script: ``--findings`` writes docs/findings.md (:mod:`experiments.findings`),
anything else prints tables (:mod:`experiments.summarize`). A module of its own so that the page's code can use
the tables' without an import circle."""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.findings import regenerate_command, write_findings
from experiments.summarize import take_option
from experiments.summarize import main as tables_main


def findings_main(argv: list[str]) -> int:
    """``--findings PAGE.md [--fixtures DIR] RUN_DIR ...``: write docs/findings.md (:mod:`experiments.findings`),
    and with ``--fixtures`` the runs' trimmed metrics.json under DIR (:func:`experiments.findings.write_findings`)."""
    need = "the markdown page to write (e.g. --findings docs/findings.md)"
    try:
        page, rest = take_option(argv, "--findings", need)
        if not page.endswith(".md"):
            raise ValueError(f"--findings needs {need}")
        fixtures, rest = take_option(rest, "--fixtures", "the directory to store the runs' metrics.json in")
        others = [a for a in rest if a.startswith("--")]
        if others or not rest:
            raise ValueError("--findings takes run directories only" + (f" (not {', '.join(others)})" if others else ""))
        if not Path(page).parent.is_dir():
            raise FileNotFoundError(f"--findings {page}: no such directory {Path(page).parent}")
        command = regenerate_command(page, rest, fixtures)
        write_findings(Path(page), sorted((Path(a) for a in rest), key=lambda p: p.name), command,
                       fixtures and Path(fixtures))
    except (OSError, ValueError, KeyError) as err:
        print(f"bgan-summarize: error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 2
    print(f"bgan-summarize: wrote {page}" + (f" and the runs' metrics under {fixtures}" if fixtures else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``bgan-summarize``: :func:`findings_main` with ``--findings``, else :func:`experiments.summarize.main`."""
    argv = sys.argv[1:] if argv is None else argv
    return findings_main(argv) if "--findings" in argv else tables_main(argv)


def console_main() -> None:
    """``bgan-summarize`` console script."""
    sys.exit(main())
