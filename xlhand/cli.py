"""The ``xlhand`` command: thin wrappers that parse, call the core, and report."""
from __future__ import annotations

import json
from pathlib import Path

import click

from xlhand import __version__
from xlhand.model import catalog
from xlhand.model.catalog import options_for, parse_opts
from xlhand.engines import readback
from xlhand.build import check_writable, key_workbook, write_atomic
from xlhand.errors import XlhandError
from xlhand.layout.paper import PAPERS
from xlhand.model.givens import parse_set
from xlhand.model.resolve import resolve
from xlhand.check import ENGINES, check_files, layout_order
from xlhand.classroom.manifest import DEFAULT_ATOL, DEFAULT_RTOL


class UserError(click.ClickException):
    exit_code = 2


class Group(click.Group):
    """Every error a user sees is one line and exit code 2: bad input found by xlhand, and bad
    arguments found by click (which would otherwise print the usage first)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XlhandError as e:
            raise UserError(str(e)) from None
        except click.UsageError as e:
            raise UserError(e.format_message()) from None


@click.group(cls=Group)
@click.version_option(__version__, prog_name="xlhand")
def cli():
    """Generate spreadsheet workbooks that teach AI math by hand."""


# --- shared options ----------------------------------------------------------------------------
SEED = click.IntRange(min=0)


def preset_names() -> list[str]:
    """Every preset name of the catalog, in the order the exercises first give them."""
    return list(dict.fromkeys(size for ex in catalog.all_exercises() for size in ex.presets))


def size_option(f):
    """--size, choosing among every preset name of the catalog (each exercise then checks its own)."""
    return click.option("--size", type=click.Choice(preset_names()),
                        help="A preset size (not every exercise has every one; see 'xlhand list').")(f)


def size_options(f=None, *, seed_help="Fresh hand-friendly numbers from this seed (0 or more).",
                 params_help="A params file (YAML) with dims, values and options."):
    """--size, --set, --opt, --params and --seed: which variant of an exercise (build, params, class)."""
    def decorate(f):
        f = click.option("--seed", type=SEED, help=seed_help)(f)
        f = click.option("--params", "params_path", type=click.Path(path_type=Path, dir_okay=False),
                         help=params_help)(f)
        f = click.option("--opt", "opts", multiple=True, metavar="NAME=VALUE",
                         help="An exercise option (see 'xlhand describe EXERCISE').")(f)
        f = click.option("--set", "sets", multiple=True, metavar="DIM=N", help="Set one dimension.")(f)
        return size_option(f)
    return decorate(f) if f is not None else decorate


def student_options(prefix: str = ""):
    """--blank, --password and --no-self-check: how a worksheet is handed out (build --student, class)."""
    def decorate(f):
        f = click.option("--no-self-check", is_flag=True, help=f"{prefix}No green/red check (for exams).")(f)
        f = click.option("--password", help=f"{prefix}A password for the sheet protection (default: none).")(f)
        return click.option("--blank", metavar="STEPS", help=f"{prefix}The steps left blank, e.g. 1,3-5 "
                            "(default: every computed block).")(f)
    return decorate


def tolerance_options(default_rtol: float | None, default_atol: float | None, where: str = ""):
    """--rtol and --atol: how close a student's number must be (class sets them, grade may override)."""
    def decorate(f):
        f = click.option("--atol", type=float, default=default_atol, show_default=default_atol is not None,
                         help=f"Absolute tolerance{where}.")(f)
        return click.option("--rtol", type=float, default=default_rtol, show_default=default_rtol is not None,
                            help=f"Relative tolerance{where}.")(f)
    return decorate


def resolve_one(name, size, sets, params_path, seed, opts):
    """Resolve one exercise's dims, options and numbers; each warning (drawn numbers that do not
    teach beside the instructor's own) is one line on stderr."""
    resolved = resolve(catalog.get(name), size=size, sets=parse_set(sets), params_path=params_path,
                       seed=seed, options=opts)
    for warning in resolved.warnings:
        click.echo(f"warning: {resolved.exercise.name}: {warning}", err=True)
    return resolved


def chosen(exercises, every: bool) -> list[str]:
    """The exercises a command names, or the whole catalog with --all."""
    names = catalog.names() if every else list(exercises)
    if not names:
        raise XlhandError("name an exercise or give --all (run 'xlhand list')")
    return names


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- commands ----------------------------------------------------------------------------------
@cli.command("list")
def list_cmd():
    """List the exercises with their sizes."""
    for ex in catalog.all_exercises():
        sizes = "; ".join(f"{k} " + ",".join(str(v) for v in dims.values()) for k, dims in ex.presets.items())
        click.echo(f"{ex.name:<20} {ex.title}")
        click.echo(f"{'':<20} dims {', '.join(ex.dims)}; sizes {sizes}")


@cli.command()
@click.argument("exercises", nargs=-1)
@click.option("--all", "build_all", is_flag=True, help="Build every exercise.")
@size_options
@click.option("--with-sine", is_flag=True, help="dft: add the sine part, magnitude and phase.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="output",
              show_default=True, help="Directory for the workbooks.")
@click.option("--student", is_flag=True, help="A student worksheet: blanks to fill in, live self-check.")
@student_options("With --student: ")
@click.option("--paper", type=click.Choice(sorted(PAPERS)), default="a4", show_default=True,
              help="The paper the pages are laid out for.")
@click.option("--sample", is_flag=True,
              help="Print a labelled excerpt at full size (the first pages) instead of shrinking a big sheet.")
def build(exercises, build_all, size, sets, opts, params_path, seed, with_sine, out_dir, student, blank,
          password, no_self_check, paper, sample):
    """Build the answer-key workbook of each EXERCISE into OUT/<exercise>.xlsx
    (with --student, a worksheet into OUT/<exercise>-student.xlsx). Every workbook is recalculated
    in memory and compared with the NumPy reference before it is written."""
    if not student and (blank or password or no_self_check):
        raise XlhandError("--blank, --password and --no-self-check need --student")
    names = chosen(exercises, build_all)
    if build_all and size is not None:  # a size only some exercises have (lecture): build those
        lacking = [n for n in names if size not in catalog.get(n).presets]
        names = [n for n in names if n not in lacking]
        if lacking:
            click.echo(f"skipped {len(lacking)} exercise{'s' * (len(lacking) != 1)} without a '{size}' size: "
                       f"{', '.join(lacking)}")
    if params_path is not None and len(names) != 1:
        raise XlhandError("--params applies to one exercise at a time")
    options = parse_opts(opts)
    if with_sine:
        options["with_sine"] = True
    shares = options_for(names, options)
    jobs = [resolve_one(name, size, sets, params_path, seed, shares[name]) for name in names]
    if student:
        from xlhand.classroom.worksheet import parse_steps, student_workbook

        steps = parse_steps(blank)
        built = [(out_dir / f"{r.exercise.name}-student.xlsx",
                  student_workbook(r, steps=steps, password=password, self_check=not no_self_check, paper=paper,
                                   sample=sample))
                 for r in jobs]
    else:
        built = [(out_dir / f"{r.exercise.name}.xlsx", key_workbook(r, paper=paper, sample=sample)) for r in jobs]
    check_writable(out_dir)
    for path, data in built:
        write_atomic(path, data)
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("exercises", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every exercise.")
@click.option("--markdown", is_flag=True, help="Markdown (docs/exercises.md is `describe --all --markdown`).")
@click.option("--pages", is_flag=True, help="The table of printed pages of every exercise at every size (README's).")
def describe(exercises, every, markdown, pages):
    """Describe each EXERCISE: its math, source (paper and walkthrough), dims and presets, givens (shape,
    role, how fresh numbers are made), options, and the numbered steps with the blocks each one places."""
    from xlhand.describe import describe as describe_one, describe_all, pages_table

    text = (pages_table() if pages else describe_all(markdown) if every
            else "\n".join(describe_one(catalog.get(name), markdown) for name in chosen(exercises, False)))
    click.echo(text, nl=False)


@cli.command()
@click.argument("exercise")
@size_options
def params(exercise, size, sets, opts, params_path, seed):
    """Print the givens and dims of EXERCISE in the params-file format."""
    from xlhand.model.params_file import dump_params

    click.echo(dump_params(resolve_one(exercise, size, sets, params_path, seed, parse_opts(opts))), nl=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--engine", type=click.Choice(ENGINES), default="ironcalc", show_default=True,
              help="The formula engine that recalculates each workbook.")
def check(files, engine):
    """Recompute each workbook and compare every named block with the NumPy reference.

    Every file is checked, each on its own; the exit code is 1 when any file has a mismatch or
    cannot be checked."""
    failed = False
    for path, report in zip(files, check_files(list(files), engine)):
        if isinstance(report, XlhandError):
            failed = True
            click.echo(f"{path}: not checked: {report}")
            continue
        for note in report.notes:
            click.echo(f"{path}: note: {note}")
        if report.ok:
            click.echo(f"{path}: ok ({report.blocks} blocks, {report.cells} cells, {engine})")
            continue
        failed = True
        n = len(report.mismatches)
        click.echo(f"{path}: {n} mismatch{'es' * (n != 1)}")
        click.echo(f"  {'block':<14} {'cell':<8} {'expected':>14} {'got':>14}")
        for m in report.mismatches:
            click.echo(f"  {m.block:<14} {m.cell:<8} {_show(m.expected):>14} {_show(m.got):>14}")
    if failed:
        raise SystemExit(1)


@cli.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list of "
              "{file, sheet, range, rule, message}.")
def lint_cmd(files, as_json):
    """Find formula mistakes in any .xlsx, made by xlhand or by hand.

    Each file is read safely (no macro runs, no link is followed); one line per finding: file,
    sheet!range, rule, why. Exit 0 when clean, 1 when anything is found, 2 when a file cannot be
    read (the others are still linted)."""
    from xlhand.lint import lint_files

    outcome = lint_files(list(files))
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in outcome.findings], indent=1, ensure_ascii=False))
    else:
        for finding in outcome.findings:
            click.echo(finding.line())
    for path, reason in outcome.unreadable.items():
        click.echo(f"{path}: not linted: {reason}", err=True)
    if not as_json and not outcome.findings:
        click.echo(f"{plural(len(files) - len(outcome.unreadable), 'file')} linted: no findings")
    if outcome.unreadable:
        raise SystemExit(2)
    if outcome.findings:
        raise SystemExit(1)


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--block", "blocks", multiple=True, help="Only these blocks (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def values(file, blocks, as_json):
    """Print the saved values of the named blocks of FILE (after a spreadsheet recalculated it)."""
    wb = readback.load(file, data_only=True)
    ranges = readback.block_ranges(wb)
    for name in blocks:
        if name not in ranges:
            raise XlhandError(f"{file}: no block '{name}' (blocks: {', '.join(sorted(ranges))})")
    chosen = list(blocks) or layout_order(wb, file, ranges)
    out = {name: readback.read_block(wb, ranges[name]) for name in chosen}
    if as_json:
        click.echo(json.dumps(out, indent=1))
        return
    for name, rows in out.items():
        click.echo(f"{name}:")
        for row in rows:
            click.echo("  " + "  ".join(_show(v) for v in row))


@cli.command("class")
@click.argument("exercise")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="CSV (comma, semicolon or tab) with an id column (id, student_id, username, email, …) and a "
                   "name column (name, full name, or first and last name); other columns are kept in the manifest.")
@click.option("--id-column", help="The roster column that holds the student ids (default: recognised by its header).")
@click.option("--name-column", help="The roster column that holds the names (default: recognised by its header).")
@size_options(seed_help="Class seed (default 0): each student's numbers derive from it and their id. With "
                        "--params: the seed of the givens the file leaves out.",
              params_help="A params file: every student gets these same numbers (one fixed version).")
@student_options()
@tolerance_options(DEFAULT_RTOL, DEFAULT_ATOL)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="class",
              show_default=True, help="Directory for the worksheets (the folder to hand out).")
@click.option("--keys", "keys_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Directory for the keys and manifest.json, apart from the worksheets [default: OUT-keys].")
@click.option("--jobs", type=click.IntRange(min=1), help="Students built at once [default: the cores]; the files "
              "are the same for any number.")
def class_cmd(exercise, roster, id_column, name_column, size, sets, opts, seed, params_path, blank, password,
              no_self_check, rtol, atol, out_dir, keys_dir, jobs):
    """One student worksheet per roster row, each with its own numbers (or all the same with --params),
    into OUT; each student's key and manifest.json into KEYS."""
    from xlhand.classroom.classset import build_class
    from xlhand.classroom.worksheet import parse_steps

    built = build_class(exercise, roster, out_dir, keys_dir=keys_dir, size=size, sets=parse_set(sets), seed=seed,
                        params_path=params_path, options=parse_opts(opts), steps=parse_steps(blank),
                        password=password, self_check=not no_self_check, rtol=rtol, atol=atol, jobs=jobs,
                        progress_label="building worksheets", id_column=id_column, name_column=name_column)
    for note in built.notes:
        click.echo(f"note: {note}")
    count = len(built.manifest.students)
    click.echo(f"wrote {plural(count, 'worksheet')} to {built.worksheets} (hand these out)")
    click.echo(f"wrote {plural(count, 'key')} and manifest.json to {built.keys} (keep these; grade with "
               f"--manifest {built.keys / 'manifest.json'})")


@cli.command("grade")
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The manifest.json written by 'xlhand class' (required, but with --gradescope).")
@click.argument("submissions", nargs=-1, type=click.Path(path_type=Path))
@tolerance_options(None, None, " (default: the manifest's)")
@click.option("--ecf", type=float, default=0.5, show_default=True,
              help="Credit for a cell right on the student's own earlier values (0 to below 1).")
@click.option("--no-feedback", is_flag=True, help="Write grades.csv only.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="grades",
              show_default=True, help="Directory for grades.csv, skipped.csv, feedback/ and the exports.")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds one file may take to read and recalculate.")
@click.option("--keep", type=click.Choice(["newest", "first", "best"]),
              help="Two or more files of one student: grade the newest (modification time), the first (path "
                   "order) or the best scoring one [default: grade none, and say so].")
@click.option("--export", "exports", multiple=True, type=click.Choice(["canvas", "moodle", "blackboard", "gradescope"]),
              help="Also write the grades as this learning-management system imports them (repeatable).")
@click.option("--assignment", help="With --export: the gradebook column's name (default: the exercise).")
@click.option("--assignment-id", help="With --export: the gradebook column's id (Canvas, Blackboard).")
@click.option("--points", type=click.FloatRange(min=0, min_open=True),
              help="With --export: the assignment's points in the gradebook, scores scaled to them "
                   "(default: one point per cell).")
@click.option("--feedback-zip", is_flag=True, help="Zip the feedback workbooks for Moodle's bulk feedback upload.")
@click.option("--gradescope", "gradescope_root", is_flag=False, flag_value="/autograder", default=None,
              metavar="[ROOT]", help="Run as a Gradescope autograder: grade the one submission in ROOT/submission "
              "(default /autograder) into ROOT/results/results.json.")
def grade_cmd(manifest_path, submissions, rtol, atol, ecf, no_feedback, out_dir, timeout, keep, exports,
              assignment, assignment_id, points, feedback_zip, gradescope_root):
    """Grade SUBMISSIONS (.xlsx files, or folders searched recursively, such as an LMS download with
    one folder per student) against the class manifest. OUT is written anew as a whole; a run that
    matches no submission writes nothing and exits with 2."""
    if gradescope_root is not None:
        from xlhand.grading.gradescope import autograde

        data = autograde(Path(gradescope_root), manifest=manifest_path, timeout=timeout, points=points)
        click.echo(f"score {data['score']:g}; wrote {Path(gradescope_root) / 'results' / 'results.json'}")
        return
    if manifest_path is None or not submissions:
        raise XlhandError("grade needs --manifest and the SUBMISSIONS (files or folders) to grade")
    if feedback_zip and no_feedback:
        raise XlhandError("--feedback-zip zips the feedback workbooks: it cannot go with --no-feedback")
    from xlhand.grading.exports import write_exports
    from xlhand.grading.pipeline import grade
    from xlhand.grading.report import report_lines

    run = grade(manifest_path, list(submissions), out_dir, rtol=rtol, atol=atol, ecf=ecf,
                feedback=not no_feedback, timeout=timeout, progress=True, keep=keep or "refuse")
    for line in report_lines(run.files, out_dir):
        click.echo(line)
    if exports or feedback_zip:
        done = write_exports(run, systems=list(exports), assignment=assignment, assignment_id=assignment_id,
                             points=points, feedback_zip=feedback_zip)
        for note in done.notes:
            click.echo(f"note: {note}")
        for path in done.files:
            click.echo(f"wrote {path}")


@cli.command("render")
@click.argument("items", nargs=-1, required=True)
@click.option("--student", is_flag=True, help="For exercise names: render the student worksheet.")
@size_options(seed_help="For exercise names: fresh numbers from this seed.",
              params_help="For exercise names: a params file (YAML) with dims, values and options.")
@click.option("--paper", type=click.Choice(sorted(PAPERS)), default="a4", show_default=True,
              help="For exercise names: the paper to lay the pages out for.")
@click.option("--sample", is_flag=True,
              help="Print a labelled excerpt at full size (the first pages) instead of shrinking a big sheet.")
@click.option("--png", is_flag=True, help="Also write one PNG preview per page.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="output",
              show_default=True, help="Directory for the PDFs (and PNGs).")
def render_cmd(items, student, size, sets, opts, params_path, seed, paper, sample, png, out_dir):
    """Render each workbook FILE, or each EXERCISE built on the spot (any size, options and numbers,
    as build takes them), to PDF as printing it gives (LibreOffice headless, one call for all)."""
    import tempfile

    from xlhand.classroom.worksheet import student_workbook
    from xlhand.engines.render import pdf_pages, render

    check_writable(out_dir)
    with tempfile.TemporaryDirectory(prefix="xlhand-render-") as tmp:
        paths = []
        for item in items:
            path = Path(item)
            if path.suffix.lower() == ".xlsx":
                if not path.is_file():
                    raise XlhandError(f"{path}: no such file")
                paths.append(path)
                continue
            resolved = resolve_one(item, size, sets, params_path, seed, parse_opts(opts))
            data = (student_workbook(resolved, paper=paper, sample=sample) if student
                    else key_workbook(resolved, paper=paper, sample=sample))
            built = Path(tmp) / f"{item}{'-student' if student else ''}.xlsx"
            built.write_bytes(data)
            paths.append(built)
        for written in render(paths, out_dir, png=png).values():
            pdf, pngs = written[0], written[1:]
            count = pdf_pages(pdf)
            click.echo(f"wrote {pdf} ({count} page{'s' if count != 1 else ''})")
            for path in pngs:
                click.echo(f"wrote {path}")


@cli.command("layout")
@click.argument("exercises", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every exercise.")
@click.option("--write", "write_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write DIR/<exercise>.txt instead of printing (the test snapshots: tests/snapshots).")
def layout_cmd(exercises, every, write_dir):
    """Print the layout of each EXERCISE at size small: every block's range, role, step, label and first formula."""
    from xlhand.layout.snapshot import SNAPSHOT_SIZE, layout_text

    names = chosen(exercises, every)
    texts = {name: layout_text(resolve(catalog.get(name), size=SNAPSHOT_SIZE)) for name in names}
    if write_dir is None:
        click.echo("".join(texts.values()), nl=False)
        return
    check_writable(write_dir)
    for name, text in texts.items():
        write_atomic(write_dir / f"{name}.txt", text.encode("utf-8"))
    click.echo(f"wrote {plural(len(texts), 'layout snapshot')} to {write_dir}")


def main():
    cli(prog_name="xlhand")


if __name__ == "__main__":
    main()
