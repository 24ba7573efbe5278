"""``manage.py resolve_duplicates``: fix live duplicate keys so the unique indexes can be built."""

from django.core.management.base import BaseCommand, CommandError

from catalog.duplicates import STRATEGIES, DuplicateResolutionError, resolve_duplicates
from catalog.selectors import MASTERS
from catalog.services import CatalogChangeRefused


class Command(BaseCommand):
    help = (
        "Resolve live duplicate keys, keeping the row with the lowest id of each key. "
        "--strategy rename: the other rows get the guide's name ' (duplicate-ID)' suffix and stay live. "
        "--strategy merge: the other rows' live variants move to the kept row (where the kept row already "
        "has that color and size, its own variant is kept and the moved one soft-deleted), then the other "
        "rows are soft-deleted. Variant duplicates have no name: with either strategy the extra variants "
        "are soft-deleted. One transaction; --dry-run prints the same report and rolls everything back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--strategy", choices=STRATEGIES, required=True)
        parser.add_argument("--model", choices=list(MASTERS), help="only this master (default: all)")
        parser.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")

    def handle(self, *args, strategy, model=None, dry_run=False, **options):
        try:
            resolution = resolve_duplicates(strategy=strategy, masters=[model] if model else None, dry_run=dry_run)
        except (DuplicateResolutionError, CatalogChangeRefused) as error:
            raise CommandError(f"Nothing was changed: {error}") from error
        prefix = "[dry run] " if dry_run else ""
        if not resolution:
            self.stdout.write(f"{prefix}No live duplicates to resolve.")
            return
        for key in resolution.keys:
            self.stdout.write(f"{prefix}{key.heading()}")
            for step in key.steps:
                self.stdout.write(f"{prefix}  {step}")
        count = len(resolution.keys)
        if dry_run:
            self.stdout.write(f"Dry run: {count} duplicate key(s) would be resolved; everything rolled back.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Resolved {count} duplicate key(s) ({strategy})."))
