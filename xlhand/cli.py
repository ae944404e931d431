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
from .verify import check_file


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
def build(exercises, build_all, size, sets, opts, params_path, seed, with_sine, out_dir):
    """Build the answer-key workbook of each EXERCISE into OUT/<exercise>.xlsx."""
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
    check_writable(out_dir)
    built = [(out_dir / f"{r.exercise.name}.xlsx", key_workbook(r)) for r in jobs]
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
def check(files):
    """Recompute each workbook with the formulas engine and compare every block with NumPy."""
    failed = False
    for path in files:
        report = check_file(path)
        for note in report.notes:
            click.echo(f"{path}: note: {note}")
        if report.ok:
            click.echo(f"{path}: ok ({report.blocks} blocks, {report.cells} cells)")
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


def main():
    cli(prog_name="xlhand")


if __name__ == "__main__":
    main()
