"""Lowering node files (ir.py) to template parts for one set of condition values.

Runs once per template: conditions are evaluated (the template is cached per values of the
attributes conditions read), ``<var>`` assignments are followed in traversal order,
``<file>`` becomes shell, and ``&name;`` becomes a slot filled per host at render time.
``<eval>`` becomes a render-time chunk (or, with evals disabled, a comment saying so).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from ..errors import GraphError
from .evals import eval_env
from .ir import Bad, Conds, EvalIR, FileIR, Part, Text, VarRef, VarSet
from .nodes import build_fragment
from .render import DELIM_PREFIX, RenderContext, Slot, render_parts, slot_value
from .xmlload import Ent, parse_text

SHELLS = re.compile(r"(?:ba|da|k|z|mk)?sh\Z")
COMMENTABLE = re.compile(r"(?:(?:ba|da|k|z|mk)?sh|python[\d.]*|perl[\d.]*|ruby[\d.]*)\Z")
ARG_INTERP = re.compile(r"--interpreter(?:=|\s+)(\S+)")
_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def active(conds: Conds, attrs: Mapping[str, str]) -> bool:
    return all(c.evaluate(attrs) for c in conds)


def strip_parts(parts: list, blank_lines_only: bool = False) -> list:
    """Trim white space at both ends of a parts list (only whole blank lines at the start
    of script bodies, whose first line's indentation may matter)."""
    parts = list(parts)
    while parts and isinstance(parts[0], str):
        head = _BLANK_LINES.sub("", parts[0]) if blank_lines_only else parts[0].lstrip()
        if head:
            parts[0] = head
            break
        parts.pop(0)
    while parts and isinstance(parts[-1], str):
        tail = parts[-1].rstrip()
        if tail:
            parts[-1] = tail
            break
        parts.pop()
    return parts


def literal(parts: list) -> str | None:
    """The text of ``parts`` if it has no slots or dynamic chunks, else None."""
    return "".join(parts) if all(isinstance(p, str) for p in parts) else None


def interpreter_of(interp: list, arg: list) -> str | None:
    name = literal(interp)
    if name is None and interp:
        return "?"
    if not name:
        m = ARG_INTERP.search(literal(arg) or "")
        name = m.group(1) if m else None
    return posixpath.basename(name.split()[0]) if name else None


class Lowerer:
    """Turns IR text into parts; one instance per template (or per eval output)."""

    def __init__(self, attrs: Mapping[str, str], evals: bool,
                 variables: dict[str, Text] | None = None, fixed_line: int | None = None):
        self.attrs = attrs
        self.evals = evals
        self.slots: list[Slot] = []
        self._slot_index: dict[tuple[str, bool], int] = {}
        self.token: set[int] = set()
        self.linestart: set[int] = set()
        self.delimiters: list[str] = []
        self.dynamic = False
        self.vars: dict[str, Text] = dict(variables or {})
        self.file_meta: dict[str, tuple[list, list]] = {}
        self.fixed_line = fixed_line
        self.path = ""
        self.relpath = ""
        self.shell_script = True
        # current output
        self.out: list = []
        self.bol = True
        self.ctx = "body"
        self.skipped_eval: int | None = None
        self.after_file = False

    # -- output helpers -----------------------------------------------------------------------
    def where(self, line: int) -> int:
        return self.fixed_line or line

    def error(self, message: str, line: int) -> GraphError:
        return GraphError(message, path=self.path, line=self.where(line))

    def emit(self, text: str) -> None:
        if self.after_file:
            self.after_file = False
            if text.startswith("\n"):  # the line break after </file>: the shell has one
                text = text[1:]
        if not text:
            return
        self.out.append(text)
        nl = text.rfind("\n")
        if nl >= 0:
            self.bol = not text[nl + 1:].strip()
        elif text.strip():
            self.bol = False

    def slot(self, name: str, required: bool, line: int) -> None:
        key = (name, required)
        idx = self._slot_index.get(key)
        if idx is None:
            idx = len(self.slots)
            self._slot_index[key] = idx
            self.slots.append(Slot(name, required, self.path, self.where(line)))
        self.after_file = False
        if self.ctx == "cmd":
            self.token.add(idx)
        elif self.ctx == "attr" or (self.bol and self.ctx in ("body", "file")):
            self.linestart.add(idx)
        self.out.append(idx)
        # bol is left as it was: an empty value keeps the next slot at the line start

    def lower_into(self, text: Text | None, ctx: str) -> list:
        saved = (self.out, self.bol, self.ctx)
        self.out, self.bol, self.ctx = [], True, ctx
        try:
            for part in text or ():
                self.part(part)
            return self.out
        finally:
            self.out, self.bol, self.ctx = saved

    # -- parts ----------------------------------------------------------------------------------
    def part(self, part: Part) -> None:
        if isinstance(part, str):
            self.emit(part)
        elif isinstance(part, Ent):
            self.slot(part.name, True, part.line)
        elif not active(part.conds, self.attrs):
            return
        elif isinstance(part, VarRef):
            self.var_read(part)
        elif isinstance(part, VarSet):
            self.var_set(part)
        elif isinstance(part, EvalIR):
            self.eval(part)
        elif isinstance(part, FileIR):
            self.file(part)
        elif isinstance(part, Bad):
            raise self.error(part.message, part.line)

    def var_read(self, ref: VarRef) -> None:
        value = self.vars.get(ref.name)
        if value is None:
            self.slot(ref.name, False, ref.line)
        else:
            for p in value:
                self.part(p)

    def var_set(self, var: VarSet) -> None:
        if var.ref is not None:
            self.vars[var.name] = self.vars.get(var.ref, (VarRef(var.ref, var.line),))
        else:
            self.vars[var.name] = var.value or ()

    def eval(self, ev: EvalIR) -> None:
        if not self.evals:
            if self.ctx == "cmd":
                self.skipped_eval = self.where(ev.line)
                return
            if not self.bol:
                self.emit("\n")
            self.emit(f"# ksserver: <eval> at {self.relpath}:{self.where(ev.line)} skipped "
                      f"(evals disabled)\n")
            return
        chunk = EvalChunk(
            shell=self.lower_into(ev.shell, "attr"), body=self.lower_into(ev.body, "eval"),
            env=[(k, self.lower_into(v, "attr")) for k, v in ev.env], mode=ev.mode,
            ctx=self.ctx, path=self.path, relpath=self.relpath, line=self.where(ev.line),
            variables=dict(self.vars), evals=self.evals)
        self.dynamic = True
        self.after_file = False
        self.out.append(chunk)
        self.bol = True  # unknown output: assume later slots may start a line

    # -- <file> ------------------------------------------------------------------------------------
    def file(self, f: FileIR) -> None:
        line = self.where(f.line)
        if not self.shell_script:
            raise self.error("<file> expands to shell commands, so it needs a shell script "
                             "(this script has another interpreter)", f.line)
        name = strip_parts(self.lower_into(f.name, "attr"))
        static = literal(name)
        qname = [shlex.quote(static)] if static is not None else name
        owner = strip_parts(self.lower_into(f.owner, "attr")) if f.owner else []
        perms = strip_parts(self.lower_into(f.perms, "attr")) if f.perms else []
        if static is not None:
            # later <file> tags for the same path inherit owner/perms (Rocks)
            old_owner, old_perms = self.file_meta.get(static, ([], []))
            owner, perms = owner or old_owner, perms or old_perms
            self.file_meta[static] = (owner, perms)
        if not self.bol:
            self.emit("\n")
        self.file_write(f, qname, line)
        for command, value in (("chmod", perms), ("chown", self.chown_spec(owner))):
            if value:
                self.emit(command + " ")
                self.out.extend(value)
                self.emit(" ")
                self.out.extend(qname)
                self.emit("\n")
        self.bol = True
        self.after_file = True

    def file_write(self, f: FileIR, qname: list, line: int) -> None:
        """The command that writes the content: expr redirect, empty file, or here-document."""
        redirect = " >> " if f.mode == "append" else " > "
        expr = strip_parts(self.lower_into(f.expr, "attr")) if f.expr else []
        content = self.file_content(f)
        if expr:
            self.out.extend(expr)
            self.emit(redirect)
            self.out.extend(qname)
            self.emit("\n")
        elif not content:
            self.emit("touch " if f.mode == "append" else ": > ")
            self.out.extend(qname)
            self.emit("\n")
        else:
            delim = self.delimiter(content, line, repr(qname))
            quoted = delim if f.expanded else f"'{delim}'"
            self.emit("cat" + redirect)
            self.out.extend(qname)
            self.emit(f" << {quoted}\n")
            self.out.extend(content)
            self.emit(f"{delim}\n")
            if literal(content) is None:
                self.delimiters.append(delim)

    def file_content(self, f: FileIR) -> list:
        saved_bol = self.bol
        content = self.lower_into(f.content, "file")
        self.bol = saved_bol
        if content and isinstance(content[0], str) and content[0].startswith("\n"):
            content[0] = content[0][1:]  # the line break right after <file ...>
        if content and isinstance(content[-1], str):
            last = content[-1]
            nl = last.rfind("\n")
            if nl >= 0 and not last[nl + 1:].strip():
                content[-1] = last[: nl + 1]  # indentation before </file>
        content = [p for p in content if p != ""]
        if all(isinstance(p, str) and not p.strip() for p in content):
            return []
        if not (isinstance(content[-1], str) and content[-1].endswith("\n")):
            content.append("\n")
        return content

    @staticmethod
    def chown_spec(owner: list) -> list:
        spec = literal(owner)
        if spec is not None and ":" not in spec and "." in spec:
            return [spec.replace(".", ":", 1)]  # Rocks' user.group; coreutils wants user:group
        return owner

    def delimiter(self, content: list, line: int, name: str) -> str:
        # Derived from the content (and where it is), so it is stable across compiles; made
        # unique per <file>, so one here-document cannot be closed by another's delimiter.
        text = literal(content) or "".join(p for p in content if isinstance(p, str))
        digest = hashlib.sha1(f"{self.relpath}:{line}:{name}\0{text}".encode()).hexdigest()
        lines = set(text.splitlines())
        for i in range(len(digest) - 11):
            delim = DELIM_PREFIX + digest[i:i + 12]
            if delim not in lines:
                return delim
        raise self.error("cannot choose a here-document delimiter for <file>", line)


class EvalChunk:
    """An ``<eval>`` run at render time; its output replaces it (parsed if mode="xml")."""

    def __init__(self, shell: list, body: list, env: list, mode: str, ctx: str, path: str,
                 relpath: str, line: int, variables: dict[str, Text], evals: bool):
        self.shell = shell
        self.body = body
        self.env = env
        self.mode = mode
        self.ctx = ctx
        self.path = path
        self.relpath = relpath
        self.line = line
        self.variables = variables
        self.evals = evals

    def render(self, ctx: RenderContext) -> str:
        if ctx.run_eval is None:
            raise GraphError("internal: no eval runner", path=self.path, line=self.line)
        shell = render_parts(self.shell, ctx).strip() or "sh"
        script = render_parts(self.body, ctx)
        env = eval_env(ctx.attrs, {k: render_parts(v, ctx) for k, v in self.env}, ctx.env)
        output = ctx.run_eval(shell, script, env, self.path, self.line)
        if self.mode == "quote":
            return output
        return self.splice(output, ctx)

    def splice(self, output: str, ctx: RenderContext) -> str:
        try:
            doc = parse_text(f"<eval-output>{output}</eval-output>", Path(self.path))
        except GraphError as e:
            raise GraphError(f"the output of <eval mode=\"xml\"> is not well-formed XML: "
                             f"{e.reason} (output line {e.line})", path=self.path,
                             line=self.line) from None
        allowed = {"body": "body", "file": "inline", "cmd": "inline"}.get(self.ctx, "var")
        text = build_fragment(doc, allowed)
        low = Lowerer(ctx.attrs, self.evals, self.variables, fixed_line=self.line)
        low.path, low.relpath = self.path, self.relpath
        parts = low.lower_into(text, self.ctx)
        values = [slot_value(slot, ctx.attrs) for slot in low.slots]
        return render_parts(parts, RenderContext(values, ctx.attrs, ctx.env, ctx.run_eval))
