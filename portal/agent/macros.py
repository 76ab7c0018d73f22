"""Canned replies: placeholders filled by Jinja's sandbox from plain values, never from models."""

from __future__ import annotations

import contextvars
import functools
import re
import time
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import User, utcnow
from ..errors import DomainError, lazy_gettext as _l, lazy_number
from ..extensions import db
from .models import Macro

# A canned reply is a few paragraphs. Filling one in may make this many characters at most, in the reply
# or in any value on the way (so 'x' * 3000000000 is refused before it is built), and take this long.
MAX_CHARACTERS = 50_000
MAX_SECONDS = 0.5
MAX_INT_BITS = 4096  # numbers grown by repeated ** or * stay small too


@dataclass
class _Budget:
    deadline: float
    characters: int


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("macro_budget", default=None)


class TooLarge(DomainError):
    def __init__(self, limit: int):
        super().__init__(_l("Filled in, the macro grows past %(limit)s characters: shorten it or its loops.",
                            limit=lazy_number(limit)), "body")


class TooSlow(DomainError):
    def __init__(self):
        super().__init__(_l("The macro takes too long to fill in: simplify its loops."), "body")


def _tick() -> _Budget | None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise TooSlow()
    return budget


def _bounded(value):
    """``value``, unless it is bigger than a macro may make."""
    budget = _tick()
    if budget is None:
        return value
    if isinstance(value, (str, bytes, list, tuple, dict, set)) and len(value) > budget.characters:
        raise TooLarge(budget.characters)
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TooLarge(budget.characters)
    return value


def _check_sizes(args) -> None:
    """A count or width asked for (ljust, center, indent, wordwrap, range…) within what a macro may make."""
    budget = _tick()
    if budget is not None and any(isinstance(a, int) and abs(a) > budget.characters for a in args):
        raise TooLarge(budget.characters)


# Widths and precisions inside a format string: '%3000000000s' % x, '{:>3000000000}'.format(x).
_PRINTF_SIZES = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?")
_FORMAT_FIELDS = re.compile(r"\{[^{}]*\}")


def _check_format(text) -> None:
    if isinstance(text, str):
        sizes = [n for pair in _PRINTF_SIZES.findall(text) for n in pair if n]
        sizes += [n for field in _FORMAT_FIELDS.findall(text) for n in re.findall(r"\d+", field)]
        _check_sizes([int(n) for n in sizes])


def _check_growth(operation: str, text, *args) -> None:
    """Refuse, before it is built, a result of replace, join, expandtabs, translate or indent longer than
    a macro may make: each takes values within the limit and can multiply them."""
    budget = _tick()
    if budget is None or not isinstance(text, str):
        return
    longest = 0
    if operation == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        longest = len(text) + (text.count(args[0]) if args[0] else len(text) + 1) * len(args[1])
    elif operation == "join" and args and hasattr(args[0], "__len__"):
        longest = len(text) * len(args[0])
    elif operation in ("expandtabs", "indent"):
        width = args[0] if args else 8
        width = len(width) if isinstance(width, str) else width if isinstance(width, int) else 8  # indent takes both
        longest = len(text) + (text.count("\t") if operation == "expandtabs" else text.count("\n") + 1) * width
    elif operation == "translate" and args and isinstance(args[0], dict):
        longest = len(text) * max((len(v) if isinstance(v, str) else 1 for v in args[0].values()), default=1)
    if longest > budget.characters:
        raise TooLarge(budget.characters)


_GROWING_FILTERS = {"do_replace": "replace", "do_indent": "indent"}


def _guarded_filter(function):
    @functools.wraps(function)  # keeps jinja_pass_arg: filters that take the context still get it
    def guarded(*args, **kwargs):
        _check_sizes([*args[1:], *kwargs.values()])
        name = function.__name__
        if name == "do_format":
            _check_format(next((a for a in args if isinstance(a, str)), None))
        elif name in _GROWING_FILTERS:
            texts = [a for a in args if isinstance(a, str)]  # after the eval context, if the filter takes one
            if texts:
                rest = list(args[args.index(texts[0]) + 1:]) + list(kwargs.values())
                _check_growth(_GROWING_FILTERS[name], texts[0], *rest)
        elif name == "do_join" and len(args) >= 2:
            separator = args[2] if len(args) > 2 else kwargs.get("d", "")
            items = args[1]
            _check_growth("join", separator, items if hasattr(items, "__len__") else [])
        return _bounded(function(*args, **kwargs))

    return guarded


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node, frame):  # the ~ operator is no call nor binop: its result is checked here
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with every value a template makes and every loop step counted against a budget of
    characters and time (``render``): no canned reply can fill a worker's memory or hold it forever."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _guarded_filter(f) for name, f in self.filters.items()}
        self.globals.pop("lipsum", None)  # text by the page, for nobody's replies
        self.globals["_macro_step"] = lambda: None  # called at each loop step and macro call: see _parse
        self.bounded = _bounded

    def _parse(self, source, name, filename):
        template = super()._parse(source, name, filename)
        # A loop whose body calls nothing would never meet the clock: each step now calls this.
        for node in template.find_all((nodes.For, nodes.Macro, nodes.CallBlock)):
            node.body.insert(0, nodes.ExprStmt(nodes.Call(nodes.Name("_macro_step", "load"), [], [], None, None)))
        return template

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (the sandbox's own signature)
        _check_sizes([*args, *kwargs.values()])
        name, owner = getattr(__obj, "__name__", ""), getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if name in ("format", "format_map"):
            _check_format(owner)  # a str's own format: the sandbox wraps it, the string is the method's owner
        elif isinstance(owner, str):
            _check_growth(name, owner, *args, *kwargs.values())
        return _bounded(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context, operator, left, right):
        budget = _tick()
        if budget is not None and operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (isinstance(sequence, (str, list, tuple)) and isinstance(count, int)
                        and len(sequence) * count > budget.characters):
                    raise TooLarge(budget.characters)
        if budget is not None and operator == "**" and isinstance(right, int) and abs(right) > MAX_INT_BITS:
            raise TooLarge(budget.characters)
        if budget is not None and operator == "%":
            _check_format(left)
            _check_sizes(right if isinstance(right, tuple) else [right])
        return _bounded(super().call_binop(context, operator, left, right))


_env = BoundedSandbox(undefined=StrictUndefined, autoescape=False)

PLACEHOLDERS = ("customer.name", "customer.first_name", "customer.email", "organization.name", "ticket.reference",
                "ticket.subject", "ticket.priority", "agent.name", "agent.first_name", "plan.name")
SAMPLE = {"customer": {"name": "Ana Example", "first_name": "Ana", "email": "ana@example.com"},
          "organization": {"name": "Example Ltd"}, "ticket": {"reference": "2026-00042", "subject": "Example",
                                                               "priority": "P3"},
          "agent": {"name": "Sam Agent", "first_name": "Sam"}, "plan": {"name": "Standard"}}


def values(ticket, agent: User) -> dict:
    from ..plans.services import get_plan

    plan = get_plan(ticket.plan)
    return {
        "customer": {"name": ticket.requester.name, "first_name": ticket.requester.name.split()[0],
                     "email": ticket.requester.email},
        "organization": {"name": ticket.organization.name},
        "ticket": {"reference": ticket.reference, "subject": ticket.subject, "priority": ticket.priority.value},
        "agent": {"name": agent.name, "first_name": agent.name.split()[0]},
        "plan": {"name": plan.name if plan else ticket.plan or ""},
    }


def render(body: str, context: dict, max_characters: int = MAX_CHARACTERS, max_seconds: float = MAX_SECONDS) -> str:
    """The macro filled in, or DomainError: a typo, or more text or time than a reply takes."""
    token = _budget.set(_Budget(time.monotonic() + max_seconds, max_characters))
    try:
        parts, length = [], 0
        for part in _env.from_string(body).generate(**context):
            length += len(part)
            if length > max_characters:
                raise TooLarge(max_characters)
            parts.append(part)
        return "".join(parts)
    except DomainError:
        raise
    except (TemplateError, TypeError, ValueError, LookupError, ArithmeticError, RecursionError) as exc:
        # The template is the agent's code: any error in it is theirs to correct, never the server's.
        raise DomainError(_l("The macro cannot be filled in: %(error)s. Placeholders are %(placeholders)s.",
                             error=str(exc), placeholders=", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)),
                          "body") from None
    finally:
        _budget.reset(token)


def all_macros() -> list[Macro]:
    return list(db.session.scalars(select(Macro).order_by(Macro.name)))


def save(agent: User, name: str, body: str, macro: Macro | None = None, origin: audit.Origin | None = None) -> Macro:
    name, body = (name or "").strip(), (body or "").strip()
    if not name or len(name) > 120:
        raise DomainError(_l("Give the macro a name of at most 120 characters."), "name")
    if not body or len(body) > 10_000:
        raise DomainError(_l("Write the reply text (at most 10,000 characters)."), "body")
    render(body, SAMPLE)  # a typo in a placeholder is refused now, not when a customer would read it
    detail = {"name": name} if macro is None else {"name": name, "was": macro.name} if macro.name != name else {}
    if macro is not None and macro.body != body:
        detail["body_changed"] = True
    action = "macro.create" if macro is None else "macro.edit"
    macro = macro or Macro(created_by_id=agent.id)
    macro.name, macro.body, macro.updated_at = name, body, utcnow()
    db.session.add(macro)
    try:
        db.session.flush()  # the id, for the audit entry (and a taken name shows here)
        audit.record(action, origin or audit.Origin.of(agent), macro.updated_at, target=("macro", macro.id, name),
                     detail=detail)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_l("A macro named %(name)s already exists.", name=repr(name)), "name") from None
    return macro


def delete(macro: Macro, origin: audit.Origin | None = None) -> None:
    audit.record("macro.delete", origin, target=("macro", macro.id, macro.name))
    db.session.delete(macro)
    db.session.commit()
