"""Camunda JUEL (`${...}`, `#{...}`) compiled to Python expression text that the sandbox evaluates.

A tokenizer and a recursive-descent parser with the precedence of the Unified EL (JUEL 2.2), lowest first:
`?:`, `|| or`, `&& and`, `== eq != ne`, `< lt > gt <= le >= ge`, `+ -`, `* / div % mod`, unary `- ! not empty`,
then `.` and `[]`. Operators whose JUEL meaning differs from Python's (coercing `==`, numeric-only `+`, float
division, `empty`) become calls of the `juel_*` helpers in engine.processes.juel_values; raw text is never run.
"""

from __future__ import annotations

import functools
import keyword
import re
from dataclasses import dataclass

from engine.messages import Message
from engine.processes.juel_values import HELPERS


class JuelError(ValueError):
    """An expression that is not JUEL, or JUEL this engine cannot translate; `position` is 0-based in the text;
    `message` says what and where (a Message: the reader's language where one is known)."""

    def __init__(self, what: Message, position: int, hint: Message | None = None) -> None:
        self.position, self.hint = position, hint
        self.message = (Message("juel.at_position_hint", what=what, position=position + 1, hint=hint) if hint
                        else Message("juel.at_position", what=what, position=position + 1))
        super().__init__(str(self.message))


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "str", "name", "op", "end"
    text: str
    position: int
    value: object = None


_WORDS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "empty": "empty",
    "true": "true",
    "false": "false",
    "null": "null",
    "instanceof": "instanceof",
}
_OPERATORS = (
    "&&",
    "||",
    "==",
    "!=",
    "<=",
    ">=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "?",
    ":",
    ".",
    "(",
    ")",
    "[",
    "]",
    ",",
)
_NUMBER = re.compile(r"\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_PYTHON_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CALL_HINT = "juel.call_hint"


def _tokens(text: str, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        at = offset + i
        if char in "'\"":
            value, i = _string(text, i, offset)
            tokens.append(_Token("str", text[at - offset : i], at, value))
            continue
        number = _NUMBER.match(text, i)
        if number:
            literal = number.group()
            is_float = any(c in literal for c in ".eE")
            tokens.append(_Token("num", literal, at, float(literal) if is_float else int(literal)))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            word = name.group()
            kind = "op" if word in _WORDS else "name"
            tokens.append(_Token(kind, _WORDS.get(word, word), at))
            i = name.end()
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator is None:
            hint = Message("juel.assignment_hint") if char == "=" else None
            raise JuelError(Message("juel.unexpected_character", char=char), at, hint)
        tokens.append(_Token("op", operator, at))
        i += len(operator)
    tokens.append(_Token("end", "", offset + len(text)))
    return tokens


def _string(text: str, start: int, offset: int) -> tuple[str, int]:
    quote, i, out = text[start], start + 1, []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise JuelError(Message("juel.unterminated_string"), offset + start)


class _Parser:
    """Recursive descent over the tokens of one `${...}`; each method returns Python source text."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.i = tokens, 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self, *texts: str) -> _Token | None:
        token = self.token
        if token.kind == "op" and token.text in texts:
            self.i += 1
            return token
        return None

    def expect(self, text: str) -> None:
        if not self.take(text):
            raise JuelError(Message("juel.expected", text=text, found=_found(self.token)), self.token.position)

    def expression(self) -> str:
        condition = self.or_()
        if self.take("?"):
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return f"({yes} if juel_bool({condition}) else {no})"
        return condition

    def or_(self) -> str:
        left = self.and_()
        while self.take("||"):
            left = f"(juel_bool({left}) or juel_bool({self.and_()}))"
        return left

    def and_(self) -> str:
        left = self.equality()
        while self.take("&&"):
            left = f"(juel_bool({left}) and juel_bool({self.equality()}))"
        return left

    def equality(self) -> str:
        left = self.relation()
        while (token := self.take("==", "!=")) is not None:
            call = f"juel_eq({left}, {self.relation()})"
            left = call if token.text == "==" else f"(not {call})"
        return left

    def relation(self) -> str:
        left = self.additive()
        names = {"<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
        while (token := self.take(*names)) is not None:
            left = f"juel_{names[token.text]}({left}, {self.additive()})"
        if self.token.text == "instanceof":
            raise JuelError(Message("juel.instanceof"), self.token.position, Message("juel.instanceof_hint"))
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while (token := self.take("+", "-")) is not None:
            left = f"juel_{'add' if token.text == '+' else 'sub'}({left}, {self.multiplicative()})"
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        names = {"*": "mul", "/": "div", "%": "mod"}
        while (token := self.take(*names)) is not None:
            left = f"juel_{names[token.text]}({left}, {self.unary()})"
        return left

    def unary(self) -> str:
        if self.take("-"):
            return f"juel_neg({self.unary()})"
        if self.take("!"):
            return f"(not juel_bool({self.unary()}))"
        if self.take("empty"):
            return f"juel_empty({self.unary()})"
        return self.value()

    def value(self) -> str:
        token = self.token
        if token.kind == "name" and token.text == "execution":
            return self.execution()
        result = self.primary()
        while True:
            if self.take("."):
                name = self.token
                if name.kind != "name":
                    raise JuelError(Message("juel.property_expected"), name.position)
                self.i += 1
                if self.token.text == "(":
                    raise JuelError(Message("juel.method_call", name=name.text), name.position, Message(_CALL_HINT))
                result = f"juel_prop({result}, {name.text!r})"
            elif self.take("["):
                index = self.expression()
                self.expect("]")
                result = f"juel_prop({result}, {index})"
            elif self.token.text == "(":
                raise JuelError(Message("juel.a_call"), self.token.position, Message(_CALL_HINT))
            else:
                return result

    def execution(self) -> str:
        """`execution.getVariable("x")`, the one form of `execution` that reads like a variable."""
        start = self.token.position
        self.i += 1
        if self.take(".") and self.token.text == "getVariable":
            self.i += 1
            self.expect("(")
            name = self.token
            if name.kind == "str" and isinstance(name.value, str):
                self.i += 1
                self.expect(")")
                return _variable(name.value, name.position)
        raise JuelError(Message("juel.execution_only_get_variable"), start, Message("juel.execution_hint"))

    def primary(self) -> str:
        token = self.token
        self.i += 1
        if token.kind in ("num", "str"):
            return repr(token.value)
        if token.kind == "op" and token.text in ("true", "false", "null"):
            return {"true": "True", "false": "False", "null": "None"}[token.text]
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return f"({inner})"
        if token.kind == "name":
            if self.token.text == ":" and self.tokens[self.i + 1].kind == "name":
                raise JuelError(Message("juel.function", name=f"{token.text}:{self.tokens[self.i + 1].text}"),
                                token.position, Message("juel.function_hint"))
            if token.text == "S" and self.token.text == "(":
                raise JuelError(Message("juel.spin"), token.position, Message("juel.spin_hint"))
            if self.token.text == "(":
                raise JuelError(Message("juel.call", name=token.text), token.position, Message(_CALL_HINT))
            return _variable(token.text, token.position)
        raise JuelError(Message("juel.unexpected", found=_found(token)), token.position)


def _variable(name: str, position: int) -> str:
    if not _PYTHON_NAME.fullmatch(name) or keyword.iskeyword(name) or name in HELPERS:
        raise JuelError(Message("juel.variable_name", name=name), position, Message("juel.variable_name_hint"))
    return name


def _found(token: _Token) -> str:
    """What the parser found, quoted, or the end of the expression (in the reader's words)."""
    return repr(token.text) if token.text else Message("juel.end")


def _compile_one(text: str, offset: int) -> str:
    parser = _Parser(_tokens(text, offset))
    if parser.token.kind == "end":
        raise JuelError(Message("juel.empty"), offset)
    result = parser.expression()
    if parser.token.kind != "end":
        raise JuelError(Message("juel.unexpected", found=repr(parser.token.text)), parser.token.position)
    return result


def is_juel(text: str) -> bool:
    """True when `text` holds a JUEL `${...}` or `#{...}`; other text is the engine's own Python dialect."""
    return "${" in text or "#{" in text


def _parts(text: str) -> list[tuple[bool, str, int]]:
    """Split composite text into (is_expression, text, offset) pieces, honouring quotes inside `${...}`."""
    parts: list[tuple[bool, str, int]] = []
    i, literal_start = 0, 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 3] in ("${", "#{"):
            i += 2
            continue
        if text.startswith(("${", "#{"), i):
            if i > literal_start:
                parts.append((False, text[literal_start:i], literal_start))
            j, quote = i + 2, ""
            while j < len(text) and (quote or text[j] != "}"):
                if quote and text[j] == "\\":
                    j += 1
                elif text[j] in "'\"":
                    quote = "" if quote == text[j] else (quote or text[j])
                j += 1
            if j >= len(text):
                raise JuelError(Message("juel.unclosed"), i)
            parts.append((True, text[i + 2 : j], i + 2))
            i = literal_start = j + 1
            continue
        i += 1
    if literal_start < len(text):
        parts.append((False, text[literal_start:], literal_start))
    return parts


@functools.lru_cache(maxsize=4096)
def compile_juel(text: str) -> str:
    """Python expression text for a JUEL value: `${x}` keeps x's type, `Hello ${name}` builds text."""
    parts = _parts(text)
    if len(parts) == 1 and parts[0][0]:
        return _compile_one(parts[0][1], parts[0][2])
    pieces = [
        f"juel_text({_compile_one(p, at)})" if is_expr else repr(p.replace("\\${", "${").replace("\\#{", "#{"))
        for is_expr, p, at in parts
    ]
    return " + ".join(pieces) if pieces else "''"


def compile_condition(text: str) -> str:
    """Python expression text for a JUEL condition: a boolean, or an error naming what it got (as Camunda)."""
    parts = _parts(text.strip())
    if len(parts) != 1 or not parts[0][0]:
        raise JuelError(Message("juel.condition_one_expression"), 0)
    return f"juel_condition({_compile_one(parts[0][1], parts[0][2])})"
