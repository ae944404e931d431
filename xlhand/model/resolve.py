"""Resolving what to build: dims, options and every given's numbers from the template, a params
file and a seed, in that order of precedence, and fresh numbers that teach.

Where a value comes from, in order: the params file; the template, if its shape fits the dims and
no ``--seed`` was given; otherwise fresh hand-friendly numbers from the seed (default 0).
"""
from __future__ import annotations

import copy
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xlhand.errors import XlhandError
from xlhand.model.givens import Dims, Given, Params, check_dims, normalize_value
from xlhand.model.params_file import ParamsFile, load_params_file, plain, template_path

GENERATION_DRAWS = 20


# --- resolving what to build ---------------------------------------------------------------
@dataclass
class Resolved:
    """Everything that determines a workbook: exercise, dims, givens, seed, options."""

    exercise: Any
    dims: Dims
    params: Params
    seed: int | None
    options: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # given -> "params file", "template" or "seed"
    numbers: str = ""  # where the numbers came from, in words (see numbers_text)
    warnings: list = field(default_factory=list)  # one line each: drawn numbers that do not teach

    def fingerprint(self) -> str:
        return params_fingerprint(self.exercise, self.params)

    def numbers_text(self) -> str:
        """Where the givens came from: "params file mine.yaml", "template", "seed 4", or a mix
        such as "params file mine.yaml + seed 0 for W2, b2". Rebuilt from metadata (no record of
        sources), the seed or "template"."""
        if self.numbers:
            return self.numbers
        return "template" if self.seed is None else f"seed {self.seed}"


def numbers_text(sources: dict, params_path: Path | None, seed: int | None) -> str:
    """The source that gave most givens by name, every other one with the givens it gave."""
    labels = {"params file": f"params file {Path(params_path).name}" if params_path else "params file",
              "template": "template", "seed": f"seed {seed}"}
    groups = {source: [name for name, s in sources.items() if s == source] for source in labels}
    groups = {source: names for source, names in groups.items() if names}
    main = max(groups, key=lambda source: len(groups[source]), default=None)
    return " + ".join(labels[source] if source == main else f"{labels[source]} for {', '.join(names)}"
                      for source, names in groups.items())


_TEMPLATES: dict[tuple, ParamsFile] = {}


def _template(exercise) -> ParamsFile:
    """The exercise's template, parsed once per process while the file stays as it is (a class set
    resolves it for every student)."""
    path = template_path(exercise)
    stat = path.stat() if path.is_file() else None
    key = (exercise.name, str(path), stat and (stat.st_mtime_ns, stat.st_size))
    if key not in _TEMPLATES:
        _TEMPLATES[key] = load_params_file(exercise, path, "template")
    return copy.deepcopy(_TEMPLATES[key])


def resolve(exercise, *, size: str | None = None, sets: dict | None = None, params_path: Path | None = None,
            seed: int | None = None, options: dict | None = None) -> Resolved:
    template = _template(exercise)
    dims = dict(check_dims(exercise, template.dims, f"template {template.path}"))
    if size is not None:
        if size not in exercise.presets:
            raise XlhandError(f"unknown size '{size}' for {exercise.name} (sizes: {', '.join(exercise.presets)})")
        dims.update(exercise.presets[size])
    user = load_params_file(exercise, params_path) if params_path is not None else None
    if user is not None:
        dims.update(check_dims(exercise, user.dims, f"params file {user.path}"))
    dims.update(check_dims(exercise, sets or {}, "--set"))
    dims = Dims(check_dims(exercise, dims, "dims"))
    missing = [d for d in exercise.dims if d not in dims]
    if missing:
        raise XlhandError(f"{exercise.name}: dim '{missing[0]}' has no value")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise XlhandError(f"--seed {seed}: a seed is a whole number, 0 or more")
    options = exercise.check_options({**(user.options if user is not None else {}),
                                      **exercise.read_options(options or {}, "--opt")})

    params, sources = Params(), {}
    for given in exercise.givens:
        if user is not None and given.name in user.values:
            params[given.name] = normalize_value(given, user.values[given.name], dims, f"params file {user.path}")
            sources[given.name] = "params file"
        elif seed is None and given.name in template.values and _fits(given, template.values[given.name], dims):
            params[given.name] = normalize_value(given, template.values[given.name], dims, f"template {template.path}")
            sources[given.name] = "template"
    to_generate = [g for g in exercise.givens if g.name not in params]
    used_seed, warnings = None, []
    if to_generate:
        used_seed = 0 if seed is None else seed
        try:
            params = generate(exercise, dims, used_seed, params, to_generate, options)
        except NotInstructive as refused:
            given = [name for name, source in sources.items() if source == "params file"]
            if not given:
                raise
            # the instructor's numbers are taken as they are; the rest are drawn plainly, with a warning
            params = draw(exercise, dims, used_seed, params, to_generate, 0)
            warnings.append(f"{refused.names} drawn from seed {used_seed} {'is' if len(to_generate) == 1 else 'are'} "
                            f"not instructive beside {', '.join(given)} of {_origin(user)} (no draw of "
                            f"{GENERATION_DRAWS} passes {exercise.name}'s test: {exercise.accept_words()}); "
                            f"drawn plainly")
        sources.update({g.name: "seed" for g in to_generate})
    elif seed is not None:
        used_seed = seed
    exercise.validate(dims, params, _origin(user))
    return Resolved(exercise, dims, params, used_seed, options, sources,
                    numbers_text(sources, params_path, used_seed), warnings)


def _origin(user: ParamsFile | None) -> str:
    return f"params file {user.path}" if user is not None else "params"


def _fits(given: Given, value, dims: Dims) -> bool:
    try:
        normalize_value(given, value, dims, "template")
        return True
    except XlhandError:
        return False


class NotInstructive(XlhandError):
    """No draw of fresh numbers passes the exercise's ``accept`` test."""

    def __init__(self, message: str, names: str):
        super().__init__(message)
        self.names = names


def generate(exercise, dims: Dims, seed: int, params: Params | None = None,
             givens: list[Given] | None = None, options: dict | None = None) -> Params:
    """Fresh numbers from ``seed`` for ``givens`` (default: all), beside the ``params`` already known.

    Each given's numbers are drawn in a scale that keeps the exercise instructive (``row_sum``,
    ``step``, an exercise's own maker), so nearly every draw passes the exercise's ``accept`` test;
    of at most ``GENERATION_DRAWS`` draws the first that passes it and the checks across givens is
    kept, and if none does that is :class:`NotInstructive`, never numbers that do not teach
    (``resolve`` draws plainly instead when the other givens are the instructor's own). A draw that
    only the checks refuse is kept when no draw passes both: the instructor's givens are at fault,
    and ``resolve`` says which."""
    givens = list(exercise.givens) if givens is None else givens
    first = None
    for number in range(GENERATION_DRAWS):
        drawn = draw(exercise, dims, seed, params, givens, number)
        if exercise.instructive(dims, drawn, options):
            if not exercise.problem(dims, drawn):
                return drawn
            first = first or drawn
    if first is not None:
        return first
    sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
    names = ", ".join(g.name for g in givens)
    raise NotInstructive(f"{exercise.name} ({sizes}): no instructive numbers for {names} from seed {seed} in "
                         f"{GENERATION_DRAWS} draws (try another seed or size, or give them in a params file)", names)


def draw(exercise, dims: Dims, seed: int, params: Params | None, givens: list[Given], number: int) -> Params:
    """Draw ``number`` of fresh numbers from ``seed`` for ``givens``, beside the ``params`` already known."""
    params = Params(params or {})
    for given in givens:
        # each given its own stream (as np.random.default_rng would make it, at half the cost)
        keys = [seed, number, zlib.crc32(exercise.name.encode()), zlib.crc32(given.name.encode())]
        params[given.name] = given.generate(np.random.Generator(np.random.PCG64(keys)), dims, params)
    return params


def params_fingerprint(exercise, params: Params) -> str:
    canonical = {g.name: plain(params[g.name]) for g in exercise.givens}
    text = json.dumps({"exercise": exercise.name, "values": canonical}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
