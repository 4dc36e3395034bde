"""Write docs/api/asyncapi.yaml from the event schemas, or check that it is up to date."""

import difflib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.asyncapi import DOCUMENT_PATH, REGENERATE, build_document, render_yaml


class Command(BaseCommand):
    help = "Generate the AsyncAPI 3.0 document of /ws/portfolio from realtime/events/schemas.py."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=DOCUMENT_PATH, help="where to write it")
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing; fail with a diff when the file differs from what would be written",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        generated = render_yaml(build_document())
        if not options["check"]:
            path.write_text(generated)
            self.stdout.write(f"wrote {path}")
            return
        committed = path.read_text() if path.exists() else ""
        if committed != generated:
            diff = difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                f"{path} (on disk)",
                "generated from the schemas",
                n=2,
            )
            self.stdout.write("".join(diff))
            raise CommandError(f"{path} is out of date; regenerate it with: {REGENERATE}")
        self.stdout.write(f"{path} is up to date")
