"""The ``xlhand`` command: thin wrappers that parse, call the core, and report."""
from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from . import __version__, catalog, readback
from .build import check_writable, key_workbook, write_atomic
from .errors import XlhandError
from .params import parse_set, resolve
from .verify import ENGINES, check_files


class UserError(click.ClickException):
    exit_code = 2


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except XlhandError as e:
            raise UserError(str(e)) from None


@click.group(cls=Group)
@click.version_option(__version__, prog_name="xlhand")
def cli():
    """Generate spreadsheet workbooks that teach AI math by hand."""


# --- shared options ----------------------------------------------------------------------------
def size_options(f):
    f = click.option("--seed", type=int, help="Fresh hand-friendly numbers from this seed.")(f)
    f = click.option("--params", "params_path", type=click.Path(path_type=Path, dir_okay=False),
                     help="A params file (YAML) with dims and values.")(f)
    f = click.option("--opt", "opts", multiple=True, metavar="NAME=VALUE", help="An exercise option.")(f)
    f = click.option("--set", "sets", multiple=True, metavar="DIM=N", help="Set one dimension.")(f)
    f = click.option("--size", help="Preset size: small, medium or large.")(f)
    return f


def parse_opts(items: tuple[str, ...]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise XlhandError(f"--opt {item}: expected NAME=VALUE")
        out[name.strip().replace("-", "_")] = yaml.safe_load(value)
    return out


def resolve_one(name, size, sets, params_path, seed, opts):
    return resolve(catalog.get(name), size=size, sets=parse_set(sets), params_path=params_path,
                   seed=seed, options=opts)


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
@click.option("--blank", "blank", metavar="STEPS", help="With --student: the steps left blank, e.g. 1,3-5 "
              "(default: every computed block).")
@click.option("--password", help="With --student: a password for the sheet protection (default: none).")
@click.option("--no-self-check", is_flag=True, help="With --student: no green/red check (for exams).")
def build(exercises, build_all, size, sets, opts, params_path, seed, with_sine, out_dir, student, blank,
          password, no_self_check):
    """Build the answer-key workbook of each EXERCISE into OUT/<exercise>.xlsx
    (with --student, a worksheet into OUT/<exercise>-student.xlsx)."""
    if not student and (blank or password or no_self_check):
        raise XlhandError("--blank, --password and --no-self-check need --student")
    names = catalog.names() if build_all else list(exercises)
    if not names:
        raise XlhandError("name an exercise or give --all (run 'xlhand list')")
    if params_path is not None and len(names) != 1:
        raise XlhandError("--params applies to one exercise at a time")
    options = parse_opts(opts)
    if with_sine:
        options["with_sine"] = True
    jobs = []
    for name in names:
        ex = catalog.get(name)
        own = {k: v for k, v in options.items() if k in ex.options or len(names) == 1}
        jobs.append(resolve_one(name, size, sets, params_path, seed, own))
    if student:
        from .modes import parse_steps, student_workbook

        steps = parse_steps(blank)
        built = [(out_dir / f"{r.exercise.name}-student.xlsx",
                  student_workbook(r, steps=steps, password=password, self_check=not no_self_check))
                 for r in jobs]
    else:
        built = [(out_dir / f"{r.exercise.name}.xlsx", key_workbook(r)) for r in jobs]
    check_writable(out_dir)
    for path, data in built:
        write_atomic(path, data)
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("exercise")
@size_options
def params(exercise, size, sets, opts, params_path, seed):
    """Print the givens and dims of EXERCISE in the params-file format."""
    from .params import dump_params

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
        click.echo(f"{path}: {len(report.mismatches)} mismatches")
        click.echo(f"  {'block':<14} {'cell':<8} {'expected':>14} {'got':>14}")
        for m in report.mismatches:
            click.echo(f"  {m.block:<14} {m.cell:<8} {_show(m.expected):>14} {_show(m.got):>14}")
    if failed:
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
    chosen = list(blocks) or sorted(ranges)
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
              help="CSV with columns id, name (extra columns are kept in the manifest).")
@click.option("--size", help="Preset size: small, medium or large.")
@click.option("--set", "sets", multiple=True, metavar="DIM=N", help="Set one dimension.")
@click.option("--opt", "opts", multiple=True, metavar="NAME=VALUE", help="An exercise option.")
@click.option("--seed", type=int, default=0, show_default=True, help="Class seed; each student's numbers "
              "derive from it and their id.")
@click.option("--blank", metavar="STEPS", help="The steps left blank, e.g. 1,3-5 (default: all).")
@click.option("--password", help="A password for the sheet protection (default: none).")
@click.option("--no-self-check", is_flag=True, help="No green/red check (for exams).")
@click.option("--rtol", type=float, default=1e-2, show_default=True, help="Relative tolerance.")
@click.option("--atol", type=float, default=1e-2, show_default=True, help="Absolute tolerance.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="class",
              show_default=True, help="Directory for worksheets, keys/ and manifest.json.")
def class_cmd(exercise, roster, size, sets, opts, seed, blank, password, no_self_check, rtol, atol, out_dir):
    """One student worksheet per roster row, each with its own numbers, plus keys and a manifest."""
    from .modes import build_class, parse_steps

    manifest = build_class(exercise, roster, out_dir, size=size, sets=parse_set(sets), seed=seed,
                           options=parse_opts(opts), steps=parse_steps(blank), password=password,
                           self_check=not no_self_check, rtol=rtol, atol=atol)
    click.echo(f"wrote {len(manifest['students'])} worksheets, keys/ and manifest.json to {out_dir}")


@cli.command("grade")
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The manifest.json written by 'xlhand class'.")
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rtol", type=float, help="Relative tolerance (default: the manifest's, 1e-2).")
@click.option("--atol", type=float, help="Absolute tolerance (default: the manifest's, 1e-2).")
@click.option("--ecf", type=float, default=0.5, show_default=True,
              help="Credit for a cell right on the student's own earlier values (0 to below 1).")
@click.option("--no-feedback", is_flag=True, help="Write grades.csv only.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default="grades",
              show_default=True, help="Directory for grades.csv and feedback/.")
def grade_cmd(manifest_path, submissions, rtol, atol, ecf, no_feedback, out_dir):
    """Grade SUBMISSIONS (files or folders of .xlsx) against the class manifest."""
    from .grade import grade

    paths = []
    for p in submissions:
        paths.extend(sorted(p.glob("*.xlsx")) if p.is_dir() else [p])
    subs = grade(manifest_path, paths, out_dir, rtol=rtol, atol=atol, ecf=ecf, feedback=not no_feedback)
    for s in subs:
        if s.status == "graded":
            click.echo(f"{s.path.name}: {s.student_id} ({s.identified_by}) {s.score:g}/{s.max:g}"
                       + (f" [{'; '.join(s.flags)}]" if s.flags else ""))
        elif s.status == "rejected":
            click.echo(f"{s.path.name}: not graded: {s.reason}")
        else:
            click.echo(f"{s.student_id}: {s.reason}")
    click.echo(f"wrote {out_dir / 'grades.csv'}")


def main():
    cli(prog_name="xlhand")


if __name__ == "__main__":
    main()
