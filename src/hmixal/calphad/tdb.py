"""Tolerant reader for the liquid phase of TDB files: keeps only what liquid ΔH_mix needs, repairs the rest.

Public TDB files in the wild break pycalphad's parser in many small ways (docs/calphad.md): Latin-1 bytes,
software-specific commands, free-text reference tails after the final ``N``, duplicated functions, Fortran
``D`` exponents, several ``PHASE LIQUID`` blocks, comments containing ``!``.  Instead of patching the text, this
module splits the file into commands, keeps ELEMENT / SPECIES / FUNCTION commands and the liquid phase's PHASE /
CONSTITUENT / G and L PARAMETER commands, re-emits them in a canonical form pycalphad reads, and records every
repair and every dropped item so nothing disappears silently.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from hmixal.errors import InputError

# Full TDB command keywords this reader recognises (abbreviations such as PARA, CONST, TYPE_DEF are accepted).
KEPT_KEYWORDS: tuple[str, ...] = (
    "ELEMENT",
    "SPECIES",
    "FUNCTION",
    "TYPE_DEFINITION",
    "PHASE",
    "CONSTITUENT",
    "PARAMETER",
)
# Recognised but irrelevant for liquid ΔH_mix; dropped without a note.  Listing them prevents their free text
# (e.g. DATABASE_INFO prose containing the word "phase") from being mistaken for a kept command.
OTHER_KEYWORDS: tuple[str, ...] = (
    "DATABASE_INFO",
    "VERSION_DATE",
    "VERSION_DATA",
    "LIST_OF_REFERENCES",
    "ADD_REFERENCES",
    "REFERENCE_FILE",
    "DEFINE_SYSTEM_DEFAULT",
    "DEFAULT_COMMAND",
    "ASSESSED_SYSTEMS",
    "TEMPERATURE_LIMITS",
    "DIFFUSION",
    "ZERO_VOLUME_SPECIES",
    "REFERENCE_ELEMENT",
    "ATTACH_CONTRIBUTION",
    "ADD_COMPOSITION_SET",
    "CREATE_NEW_PHASE",
    "AMEND_PHASE_DESCRIPTION",
    "TABLE",
    "EXIT",
    "GOTO_MODULE",
    "SET_ECHO",
    "SET_INTERACTIVE",
    "NEW_DIRECTORY",
    "LIST_OF_ELEMENTS",
    "DATABASE_INFORMATION",
)
ALL_KEYWORDS = KEPT_KEYWORDS + OTHER_KEYWORDS
# Parameter types that make up the Gibbs energy of a substitutional liquid; magnetic (TC, BMAGN), two-state
# (GD), volume, mobility and viscosity parameters are dropped (listed in the notes).
ENERGY_PARAMETER_TYPES: frozenset[str] = frozenset({"G", "L"})
DEFAULT_LOW_T = 298.15  # Thermo-Calc's default lower temperature limit (the ",," placeholder)
DEFAULT_HIGH_T = 6000.0  # Thermo-Calc's default upper temperature limit
# Names that may appear in an expression without being user functions.
# R is the gas constant, which pycalphad substitutes (8.3145 J/mol/K).
_BUILTINS = frozenset({"T", "P", "R", "LN", "LOG", "EXP", "SQRT", "ABS", "ERF"})
# The Python syntax pycalphad accepts in a TDB expression (pycalphad.io.tdb._AST_WHITELIST, 0.11): it parses each
# expression with ``ast`` and refuses anything else.  Checking the same here lets a failure name the file's line.
_EXPRESSION_NODES: tuple[type, ...] = (
    ast.Add,
    ast.BinOp,
    ast.Call,
    ast.Constant,
    ast.Div,
    ast.Expression,
    ast.Load,
    ast.Mult,
    ast.Name,
    ast.Pow,
    ast.Sub,
    ast.UAdd,
    ast.UnaryOp,
    ast.USub,
)
# At most this many tokens of stray text before a keyword are dropped to recover the command; longer text is
# prose (e.g. a free-text reference list mentioning "phase") and the whole chunk is ignored.
_MAX_STRAY_TOKENS = 3

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[ED][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"^\s*({_NUMBER})")
_FORTRAN_D_RE = re.compile(r"(?<![A-Z0-9_#])((?:\d+\.?\d*|\.\d+))D([+-]?\d+)")
_SEGMENT_END_RE = re.compile(rf"^\s*(?P<t>{_NUMBER})?\s*,*\s*(?P<yn>[YN])(?=[\s+\-\d.(]|$)(?P<rest>.*)$", re.DOTALL)
_PARAM_HEAD_RE = re.compile(
    r"^(?P<type>[A-Z0-9_]+)(?:&(?P<diff>[^(\s]+))?\s*\(\s*(?P<phase>[^,\s]+)\s*,\s*(?P<const>[^;)]*?)\s*;"
    r"\s*(?P<order>\d+)\s*\)\s*(?P<rest>.*)$",
    re.DOTALL,
)
_CONSTITUENT_RE = re.compile(r"^(?P<name>[A-Z0-9_]+(?::[A-Z])?)\s*:(?P<subs>.*)$", re.DOTALL)
_IDENT_RE = re.compile(r"[A-Z_][A-Z0-9_]*#?")
_NUMBER_ANYWHERE_RE = re.compile(r"(?<![A-Z_0-9#])(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?")
# "REF: 91Din", "REF:0", "REF 5" → the code after the word; "REF5", "95DUP3" → the whole token.
_REF_CODE_RE = re.compile(r"^\s*(?:REF(?:ERENCE)?(?:\s*[:=]\s*|\s+))?([A-Z0-9][A-Z0-9_.\-]*)", re.IGNORECASE)
_REF_ENTRY_RE = re.compile(r"([^\s']+)\s+'([^']*)'")
_FREE_REF_RE = re.compile(r"^[A-Z0-9]{6}-(?P<code>[A-Z]?\d+)\s+(?P<system>\S+)\s+(?P<text>\S.*)$")


@dataclass(frozen=True)
class TdbCommand:
    """One ``!``-terminated TDB command: canonical keyword, upper-cased single-spaced body, first line."""

    keyword: str
    body: str
    line: int
    raw: str


@dataclass(frozen=True)
class LiquidParameter:
    """One G or L parameter of the liquid: constituents per sublattice (as written), order, clean ranges."""

    kind: str
    constituents: tuple[tuple[str, ...], ...]
    order: int
    ranges: str
    ref: str
    line: int

    @property
    def species(self) -> frozenset[str]:
        """All species named in the parameter except the vacancy."""
        return frozenset(s for sub in self.constituents for s in sub if s != "VA")


@dataclass
class LiquidTdb:
    """The liquid part of a TDB file, re-emitted as clean TDB text, with what was repaired or dropped."""

    text: str
    phase: str
    sublattices: tuple[tuple[str, ...], ...]
    site_ratios: tuple[float, ...]
    parameters: list[LiquidParameter]
    notes: list[str] = field(default_factory=list)
    unresolved: dict[frozenset[str], str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    database_info: str = ""
    # For each line of ``text``: the line of the original file it comes from (0 for generated lines).
    source_lines: list[int] = field(default_factory=list)


def decode_tdb_bytes(data: bytes) -> str:
    """Decode a TDB file: UTF-8 when valid, else Latin-1 (never fails; MatCalc files are Latin-1)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def fix_fortran_exponents(expr: str) -> str:
    """Rewrite Fortran double-precision exponents (``1.0D-5``) as ``1.0E-5``."""
    return _FORTRAN_D_RE.sub(r"\1E\2", expr)


def canonical_keyword(token: str, keywords: tuple[str, ...] = ALL_KEYWORDS) -> str | None:
    """Return the full keyword a (possibly abbreviated) token stands for, or None.

    Thermo-Calc accepts each underscore-separated part abbreviated (``PARA``, ``CONST``, ``TYPE_DEF``); a token
    of fewer than three characters is never taken as a keyword.
    """
    token = token.upper().replace("-", "_")
    if len(token) < 3:
        return None
    parts = token.split("_")
    for keyword in keywords:
        kparts = keyword.split("_")
        if len(parts) <= len(kparts) and all(k.startswith(p) and p for p, k in zip(parts, kparts, strict=False)):
            return keyword
    return None


def split_commands(text: str) -> tuple[list[TdbCommand], list[str]]:
    """Split TDB text into commands: cut every line at ``$`` first, then split on ``!``.

    Cutting comments before splitting matters: comments may contain ``!`` or follow one on the same line,
    and would otherwise swallow the next command.  Text before a kept keyword that is not itself a keyword
    (e.g. the ``l-a`` in ``... /- !l-a``) is dropped with a note.
    """
    notes: list[str] = []
    commands: list[TdbCommand] = []
    ignored: list[tuple[int, str]] = []
    pieces: list[tuple[int, str]] = []  # (line number, text) of the current command
    for lineno, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = line.split("$", 1)[0].replace("\t", " ")
        chunks = line.split("!")
        for i, chunk in enumerate(chunks):
            if chunk.strip():
                pieces.append((lineno, chunk))
            if i < len(chunks) - 1:  # a "!" ends the command
                _close_command(pieces, commands, notes, ignored)
                pieces = []
    _close_command(pieces, commands, notes, ignored)
    if ignored:
        line, text = ignored[0]
        text = text if len(text) <= 40 else text[:37] + "..."
        notes.append(f"ignored {len(ignored)} text chunk(s) that are not TDB commands (first at line {line}: {text!r})")
    return commands, notes


def _close_command(
    pieces: list[tuple[int, str]], commands: list[TdbCommand], notes: list[str], ignored: list[tuple[int, str]]
) -> None:
    """Turn the collected pieces of one command into a TdbCommand, or record it as ignored text."""
    if not pieces:
        return
    raw = " ".join(chunk for _, chunk in pieces)
    tokens = raw.split()
    if not tokens:
        return
    line = pieces[0][0]
    keyword = canonical_keyword(tokens[0])
    start = 1
    if keyword is None:
        # Stray text before a command: look for a kept keyword further on.
        for i, tok in enumerate(tokens[1 : _MAX_STRAY_TOKENS + 1], start=1):
            keyword = canonical_keyword(tok, KEPT_KEYWORDS)
            if keyword is not None and len(tok) >= 4:
                stray = " ".join(tokens[:i])
                stray = stray if len(stray) <= 60 else stray[:57] + "..."
                notes.append(f"line {line}: dropped stray text {stray!r} before {keyword}")
                start = i + 1
                break
        else:
            ignored.append((line, " ".join(tokens)))
            return
    body = " ".join(tokens[start:]).upper()
    commands.append(TdbCommand(keyword=keyword, body=body, line=line, raw=raw))


def normalize_ranges(text: str, where: str) -> tuple[str, str]:
    """Canonicalise a TDB temperature-range list; return (``low expr; high Y expr; high N``, reference code).

    Accepts ``,,`` for default limits, a lower limit glued to the expression (``100.00-7258.5+...``), reference
    tails after the final ``N`` (``N REF: 91Din``, ``N 95DUP3``, ``N REF:0``) and Fortran ``D`` exponents.
    Raises ValueError (message starting with ``where``) when the ranges cannot be read.
    """
    text = fix_fortran_exponents(text.strip())
    segments = text.split(";")
    if len(segments) < 2:
        raise ValueError(f"{where}: no ';' after the expression (temperature ranges unreadable)")
    first = segments[0].strip()
    if first.startswith(","):
        low, expr = DEFAULT_LOW_T, first.lstrip(",").strip()
    else:
        m = _NUMBER_RE.match(first)
        if m is None:
            raise ValueError(f"{where}: no lower temperature limit before the expression")
        low, expr = float(m.group(1).replace("D", "E")), first[m.end() :].strip()
    out = [f"{low:g} {expr or '0'};"]
    ref = ""
    for seg in segments[1:]:
        m = _SEGMENT_END_RE.match(seg)
        if m is None and seg is segments[-1] and _NUMBER_RE.match(seg):
            # "...; 6000 91DIN" — the final N is missing; the reference code follows the limit directly.
            m = _SEGMENT_END_RE.match(_NUMBER_RE.sub(r"\1 N ", seg, count=1))
        if m is None:
            if seg.strip():
                raise ValueError(f"{where}: cannot read temperature range segment {seg.strip()!r}")
            continue
        high = float(m.group("t")) if m.group("t") else DEFAULT_HIGH_T
        if m.group("yn") == "Y":
            out.append(f"{high:g} Y {m.group('rest').strip() or '0'};")
        else:
            out.append(f"{high:g} N")
            code = _REF_CODE_RE.match(m.group("rest"))
            ref = code.group(1).upper() if code else ""
            break
    else:
        out.append(f"{DEFAULT_HIGH_T:g} N")
    return " ".join(out), ref


def range_expressions(ranges: str) -> list[str]:
    """The expressions of a canonical range list (``low expr; high Y expr; high N``)."""
    segments = [seg.strip() for seg in ranges.split(";")]
    exprs = [segments[0].split(" ", 1)[1] if " " in segments[0] else "0"]
    for seg in segments[1:]:
        parts = seg.split(" ", 2)
        if len(parts) == 3 and parts[1] == "Y":
            exprs.append(parts[2])
    return exprs


def expression_names(expr: str) -> set[str]:
    """Names of user functions an expression refers to (``#`` suffix removed; T, P, LN, EXP… excluded)."""
    stripped = _NUMBER_ANYWHERE_RE.sub(" ", expr)
    names = set()
    for m in _IDENT_RE.finditer(stripped):
        name = m.group(0).rstrip("#")
        after = stripped[m.end() : m.end() + 1]
        if name in _BUILTINS or after == "(":
            continue
        names.add(name)
    return names


def _strip_phase_suffix(name: str) -> str:
    """``LIQUID:L`` → ``LIQUID`` (the part after ':' is Thermo-Calc's phase-type letter)."""
    return name.split(":", 1)[0]


def _species_list(text: str) -> tuple[str, ...]:
    """Constituents of one sublattice: comma or space separated, '%' (major-constituent mark) removed."""
    return tuple(s.strip("%#") for s in re.split(r"[,\s]+", text) if s.strip("%#"))


def find_liquid_phase(phase_names: list[str]) -> str | None:
    """The liquid phase of a database: ``LIQUID`` if present, else the first name starting with ``LIQ``.

    Ionic-liquid phases (``IONIC_LIQ``…) are separate phases and never chosen.
    """
    names = [_strip_phase_suffix(n).upper() for n in phase_names]
    if "LIQUID" in names:
        return "LIQUID"
    for name in names:
        if name.startswith("LIQ"):
            return name
    return None


def parse_free_text_references(text: str) -> dict[str, str]:
    """MatCalc-style reference list at the end of a file: ``A00036-21   C-Cr-Ti   J. C. Schuster, ...``.

    The code after the dash is the one parameters cite (``REF:21``); indented lines continue an entry.
    """
    refs: dict[str, str] = {}
    code = ""
    parts: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _FREE_REF_RE.match(line)
        if m is not None:
            if code and parts:
                refs.setdefault(code, " ".join(" ".join(parts).split()))
            code, parts = m.group("code").upper(), [f"{m.group('system')}:", m.group("text")]
        elif code and line[:1].isspace() and line.strip() and not line.lstrip().startswith("$"):
            parts.append(line.strip())
        elif code:
            if parts:
                refs.setdefault(code, " ".join(" ".join(parts).split()))
            code, parts = "", []
    if code and parts:
        refs.setdefault(code, " ".join(" ".join(parts).split()))
    return refs


def parse_references(text: str, commands: list[TdbCommand] | None = None) -> tuple[dict[str, str], str]:
    """Reference list (code → text, from LIST_OF_REFERENCES / ADD_REFERENCES or a MatCalc free-text list)
    and the DATABASE_INFO text; ``commands`` are ``split_commands(text)`` when already computed."""
    refs: dict[str, str] = {}
    info = ""
    if commands is None:
        commands, _ = split_commands(text)
    for cmd in commands:
        if cmd.keyword in ("LIST_OF_REFERENCES", "ADD_REFERENCES"):
            for code, body in _REF_ENTRY_RE.findall(cmd.raw):
                clean = " ".join(body.split())
                if clean and code.upper() not in ("NUMBER", "SOURCE"):
                    refs.setdefault(code.upper(), clean)
        elif cmd.keyword == "DATABASE_INFO" and not info:
            words = cmd.raw.split()[1:]
            info = " ".join(w.replace("'", " ").strip() for w in words if w.strip("'")).strip()
            info = " ".join(info.split())
    for code, body in parse_free_text_references(text).items():
        refs.setdefault(code, body)
    return refs, info


def expression_problem(expr: str) -> str | None:
    """Why pycalphad could not read a TDB expression (in plain words), or None when it can.

    Mirrors pycalphad's own reading: ``#`` dropped, LN/LOG/EXP as functions, then Python syntax limited to
    numbers, names, + − × / ** and function calls.
    """
    text = expr.replace("#", "")
    for name in ("LN", "LOG", "EXP"):
        text = re.sub(rf"(?<!\w){name}(?!\w)", name.lower(), text, flags=re.IGNORECASE)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        return f"the expression {expr.strip()!r} is not valid arithmetic ({exc.msg}{where})"
    for node in ast.walk(tree):
        if not isinstance(node, _EXPRESSION_NODES):
            return f"the expression {expr.strip()!r} contains {type(node).__name__}, which a TDB expression cannot hold"
    return None


def filter_liquid_tdb(text: str, path: str | Path = "<tdb>") -> LiquidTdb:
    """Extract the liquid phase of TDB text as clean TDB; raise InputError when there is no usable liquid."""
    commands, notes = split_commands(text)
    if not any(c.keyword == "ELEMENT" for c in commands):
        raise InputError(path, None, "not a TDB database: no ELEMENT command found")
    phase_cmds = [c for c in commands if c.keyword == "PHASE" and c.body]
    liquid = find_liquid_phase([c.body.split()[0] for c in phase_cmds])
    if liquid is None:
        raise InputError(path, None, "no liquid phase: no PHASE command whose name starts with LIQ")

    others = sorted({_strip_phase_suffix(c.body.split()[0]) for c in phase_cmds} - {liquid})
    others = [name for name in others if "LIQ" in name]
    if others:
        notes.append(f"other liquid phase(s) not used: {', '.join(others)} (only {liquid} is read)")
    sublattices, ratios = _liquid_model(phase_cmds, commands, liquid, path, notes)
    _note_type_codes(phase_cmds, commands, liquid, notes)
    allowed = {s for sub in sublattices for s in sub}

    elements: dict[str, str] = {}
    species: dict[str, str] = {}
    declared_at: dict[str, int] = {}  # ELEMENT / SPECIES name → line of its (first) declaration
    functions: dict[str, tuple[str, int]] = {}
    duplicate_functions: dict[str, list[int]] = {}
    params: list[LiquidParameter] = []
    dropped_types: dict[str, int] = {}
    outside: list[str] = []
    for cmd in commands:
        tokens = cmd.body.split()
        if not tokens:
            continue
        if cmd.keyword == "ELEMENT":
            elements.setdefault(tokens[0], _element_line(tokens))
            declared_at.setdefault(tokens[0], cmd.line)
        elif cmd.keyword == "SPECIES":
            if len(tokens) >= 2:
                species.setdefault(tokens[0], f"SPECIES {tokens[0]} {tokens[1]} !")
                declared_at.setdefault(tokens[0], cmd.line)
        elif cmd.keyword == "FUNCTION":
            name = tokens[0]
            body = cmd.body[len(name) :]
            if name in functions:
                duplicate_functions.setdefault(name, [functions[name][1]]).append(cmd.line)
                continue
            functions[name] = (body, cmd.line)
        elif cmd.keyword == "PARAMETER":
            parsed = _parse_parameter(cmd, liquid, path)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                dropped_types[parsed] = dropped_types.get(parsed, 0) + 1
                continue
            if not parsed.species <= allowed or not all(
                set(sub) <= set(lat) for sub, lat in zip(parsed.constituents, sublattices, strict=False)
            ):
                outside.append(f"{parsed.kind}({liquid},{_const_text(parsed.constituents)};{parsed.order})")
                continue
            params.append(parsed)
    if dropped_types:
        listing = ", ".join(f"{k}×{n}" for k, n in sorted(dropped_types.items()))
        notes.append(f"dropped non-energy liquid parameters: {listing}")
    if outside:
        listing = ", ".join(outside[:3]) + (", ..." if len(outside) > 3 else "")
        notes.append(
            f"dropped {len(outside)} liquid parameter(s) naming species not in the liquid's constituents: {listing}"
        )

    # Resolve functions transitively; parameters that call undefined functions are dropped and recorded.
    clean_functions: dict[str, str] = {}
    bad_functions: dict[str, str] = {}
    for name, (body, line) in functions.items():
        try:
            clean_functions[name] = normalize_ranges(body, f"line {line}: FUNCTION {name}")[0]
        except ValueError as exc:
            bad_functions[name] = str(exc)
    used: set[str] = set()
    kept: list[LiquidParameter] = []
    unresolved: dict[frozenset[str], str] = {}
    for p in params:
        missing, needed = _missing_functions(p.ranges, clean_functions)
        if missing:
            reason = f"line {p.line}: {p.kind}({liquid},{_const_text(p.constituents)};{p.order}) calls undefined "
            reason += "function(s) " + ", ".join(sorted(missing))
            unreadable = [bad_functions[name] for name in sorted(missing) if name in bad_functions]
            if unreadable:
                reason += " (unreadable: " + "; ".join(unreadable) + ")"
            unresolved.setdefault(p.species, reason)
            continue
        used |= needed
        kept.append(p)
    for name in sorted(set(duplicate_functions) & used):
        lines = ", ".join(str(n) for n in duplicate_functions[name])
        notes.append(f"FUNCTION {name} defined more than once (lines {lines}): kept the first definition")
    if sum(1 for c in phase_cmds if find_liquid_phase([c.body.split()[0]]) == liquid) > 1:
        notes.append(f"several PHASE {liquid} blocks: constituent lists merged")

    used_species = {s for sub in sublattices for s in sub}
    # pycalphad fails on these with a bare KeyError ('NI') or "invalid syntax (<unknown>, line 1)"; found here,
    # the problem is named with the line of the file that causes it.
    phase_line = next(c.line for c in phase_cmds if _strip_phase_suffix(c.body.split()[0]) == liquid)
    constituent_line = _constituent_line(commands, liquid) or phase_line
    undeclared = sorted(used_species - set(declared_at) - {"VA"})
    if undeclared:
        names = ", ".join(undeclared)
        raise InputError(
            path,
            constituent_line,
            f"CONSTITUENT {liquid} lists {names}, but no ELEMENT or SPECIES command declares {names}",
        )
    for name in sorted(used):
        _check_expressions(clean_functions[name], path, functions[name][1], f"FUNCTION {name}")
    for p in kept:
        _check_expressions(
            p.ranges, path, p.line, f"PARAMETER {p.kind}({liquid},{_const_text(p.constituents)};{p.order})"
        )
    emitted: list[tuple[str, int]] = [(elements[e], declared_at[e]) for e in sorted(elements)]
    emitted += [(species[s], declared_at[s]) for s in sorted(species) if s in used_species and s not in elements]
    emitted += [(f"FUNCTION {name} {clean_functions[name]} !", functions[name][1]) for name in sorted(used)]
    emitted.append(("TYPE_DEFINITION % SEQ * !", 0))
    emitted.append((f"PHASE {liquid} % {len(sublattices)} " + " ".join(f"{r:g}" for r in ratios) + " !", phase_line))
    emitted.append(
        (f"CONSTITUENT {liquid} :" + ":".join(",".join(sub) for sub in sublattices) + ": !", constituent_line)
    )
    emitted += [
        (f"PARAMETER {p.kind}({liquid},{_const_text(p.constituents)};{p.order}) {p.ranges} !", p.line) for p in kept
    ]
    refs, info = parse_references(text, commands)
    return LiquidTdb(
        text="\n".join(line for line, _ in emitted) + "\n",
        source_lines=[line for _, line in emitted],
        phase=liquid,
        sublattices=sublattices,
        site_ratios=ratios,
        parameters=kept,
        notes=notes,
        unresolved=unresolved,
        references=refs,
        database_info=info,
    )


def _note_type_codes(phase_cmds: list[TdbCommand], commands: list[TdbCommand], liquid: str, notes: list[str]) -> None:
    """Record the liquid's type codes other than '%' and their TYPE_DEFINITIONs, which the clean TDB drops.

    They select magnetic, ordering or excess-model options; for a binary only the G and L parameters enter
    ΔH_mix, so dropping them changes nothing the pipeline uses, but the reader should know they were there.
    """
    codes: set[str] = set()
    for cmd in phase_cmds:
        tokens = cmd.body.split()
        if _strip_phase_suffix(tokens[0]) == liquid and len(tokens) > 1 and _NUMBER_RE.match(tokens[1]) is None:
            codes |= set(tokens[1]) - {"%"}
    if not codes:
        return
    defs = [c.body for c in commands if c.keyword == "TYPE_DEFINITION" and c.body[:1] in codes]
    text = "; ".join(d if len(d) <= 60 else d[:57] + "..." for d in defs) or "no TYPE_DEFINITION found"
    notes.append(f"liquid type code(s) {''.join(sorted(codes))} not used ({text})")


def _const_text(constituents: tuple[tuple[str, ...], ...]) -> str:
    """``(('AL','CU'),('VA',))`` → ``AL,CU:VA``."""
    return ":".join(",".join(sub) for sub in constituents)


def _constituent_line(commands: list[TdbCommand], liquid: str) -> int | None:
    """Line of the first CONSTITUENT command of the liquid, or None."""
    for cmd in commands:
        m = _CONSTITUENT_RE.match(cmd.body) if cmd.keyword == "CONSTITUENT" else None
        if m is not None and _strip_phase_suffix(m.group("name")) == liquid:
            return cmd.line
    return None


def _check_expressions(ranges: str, path: str | Path, line: int, what: str) -> None:
    """Raise InputError (file, line, command) when an expression of a range list is not one pycalphad reads."""
    for expr in range_expressions(ranges):
        problem = expression_problem(expr)
        if problem is not None:
            raise InputError(path, line, f"{what}: {problem}")


def _element_line(tokens: list[str]) -> str:
    """Canonical ELEMENT command (missing or non-numeric mass/H298/S298 become 0)."""
    name = tokens[0]
    ref = tokens[1] if len(tokens) > 1 else "BLANK"
    nums = []
    for tok in tokens[2:5]:
        try:
            nums.append(float(fix_fortran_exponents(tok)))
        except ValueError:
            nums.append(0.0)
    nums += [0.0] * (3 - len(nums))
    return f"ELEMENT {name} {ref} " + " ".join(f"{n:.6g}" for n in nums) + " !"


def _liquid_model(
    phase_cmds: list[TdbCommand],
    commands: list[TdbCommand],
    liquid: str,
    path: str | Path,
    notes: list[str],
) -> tuple[tuple[tuple[str, ...], ...], tuple[float, ...]]:
    """Sublattice site ratios and merged constituent lists of every PHASE/CONSTITUENT block of the liquid."""
    ratios: tuple[float, ...] | None = None
    line = 0
    for cmd in phase_cmds:
        tokens = cmd.body.split()
        if _strip_phase_suffix(tokens[0]) != liquid:
            continue
        rest = tokens[1:]
        if rest and _NUMBER_RE.match(rest[0]) is None:
            rest = rest[1:]  # type codes
        try:
            nsub = int(float(rest[0]))
            these = tuple(float(fix_fortran_exponents(r)) for r in rest[1 : 1 + nsub])
        except (IndexError, ValueError) as exc:
            raise InputError(path, cmd.line, f"cannot read PHASE {liquid} sublattice model: {cmd.body!r}") from exc
        if len(these) != nsub:
            raise InputError(path, cmd.line, f"PHASE {liquid} declares {nsub} sublattices but {len(these)} ratios")
        if ratios is None:
            ratios, line = these, cmd.line
        elif len(these) != len(ratios):
            raise InputError(path, cmd.line, f"PHASE {liquid} redefined with a different number of sublattices")
    if ratios is None:  # find_liquid_phase found the name among these commands, so this cannot happen
        raise InputError(path, None, f"no PHASE {liquid} command")
    merged: list[list[str]] = [[] for _ in ratios]
    for cmd in commands:
        m = _CONSTITUENT_RE.match(cmd.body) if cmd.keyword == "CONSTITUENT" else None
        if m is None or _strip_phase_suffix(m.group("name")) != liquid:
            continue
        # Text after the last declared sublattice (MatCalc comments) is ignored.
        subs = m.group("subs").split(":")[: len(ratios)]
        if len(subs) != len(ratios) or not all(s.strip() for s in subs):
            raise InputError(
                path, cmd.line, f"CONSTITUENT {liquid} lists {len(subs)} sublattices, PHASE declares {len(ratios)}"
            )
        for target, sub in zip(merged, subs, strict=True):
            for s in _species_list(sub):
                if s not in target:
                    target.append(s)
    if not all(merged):
        raise InputError(path, line, f"no CONSTITUENT command for phase {liquid}")
    return tuple(tuple(sub) for sub in merged), ratios


def _parse_parameter(cmd: TdbCommand, liquid: str, path: str | Path) -> LiquidParameter | str | None:
    """A liquid G/L parameter, the type name of a dropped liquid parameter, or None (other phase)."""
    m = _PARAM_HEAD_RE.match(cmd.body)
    if m is None:
        return None
    if _strip_phase_suffix(m.group("phase")) != liquid:
        return None
    kind = m.group("type")
    if kind not in ENERGY_PARAMETER_TYPES or m.group("diff"):
        return kind + (f"&{m.group('diff')}" if m.group("diff") else "")
    constituents = tuple(_species_list(sub) for sub in m.group("const").split(":"))
    where = f"line {cmd.line}: PARAMETER {kind}({liquid},{_const_text(constituents)};{m.group('order')})"
    try:
        ranges, ref = normalize_ranges(m.group("rest"), where)
    except ValueError as exc:
        raise InputError(path, cmd.line, str(exc)) from exc
    return LiquidParameter(
        kind=kind, constituents=constituents, order=int(m.group("order")), ranges=ranges, ref=ref, line=cmd.line
    )


def _range_names(ranges: str) -> set[str]:
    """Function names used by any expression of a canonical range list."""
    return set().union(*(expression_names(e) for e in range_expressions(ranges)))


def _missing_functions(ranges: str, functions: dict[str, str]) -> tuple[set[str], set[str]]:
    """(undefined names reached from a range list, defined functions it needs transitively)."""
    missing: set[str] = set()
    needed: set[str] = set()
    stack = list(_range_names(ranges))
    while stack:
        name = stack.pop()
        if name in needed or name in missing:
            continue
        if name not in functions:
            missing.add(name)
            continue
        needed.add(name)
        stack.extend(_range_names(functions[name]))
    return missing, needed
