"""Loading what events and members carry: `event_types:` (over the built-in ones) and
`member_attributes:` of `program.yaml`, and the CEL environment each event type's rules see."""

from __future__ import annotations

from service.engine.cel import build_env
from service.engine.events import BUILTIN_EVENT_TYPES, AttributeSpec, EventTypeSpec
from service.engine.files import ATTRIBUTE_TYPES, ProgramFile
from service.engine.load_context import LoadContext
from service.engine.problems import did_you_mean
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["attribute_specs", "build_envs", "load_event_types"]


def attribute_specs(
    ctx: LoadContext, doc: YamlDoc, path: Path, declared: dict[str, str]
) -> dict[str, AttributeSpec]:
    """Declared attributes (name -> type text) parsed; an unknown type is a problem."""
    specs: dict[str, AttributeSpec] = {}
    for name, text in declared.items():
        spec = AttributeSpec.parse(text)
        if spec.type not in ATTRIBUTE_TYPES:
            hint = did_you_mean(spec.type, ATTRIBUTE_TYPES)
            ctx.problems.append(
                doc.problem((*path, name), f"unknown attribute type '{spec.type}'{hint}")
            )
            continue
        specs[name] = spec
    return specs


def load_event_types(ctx: LoadContext, doc: YamlDoc, parsed: ProgramFile) -> None:
    """The member attributes and event types into `ctx`, and the pending days' types checked."""
    ctx.member_attributes = attribute_specs(
        ctx, doc, ("member_attributes",), parsed.member_attributes
    )
    types: dict[str, EventTypeSpec] = {}
    for name, builtin in BUILTIN_EVENT_TYPES.items():
        types[name] = EventTypeSpec(name, {a: AttributeSpec.parse(t) for a, t in builtin.items()})
    for name, attrs in parsed.event_types.items():
        specs = attribute_specs(ctx, doc, ("event_types", name), attrs)
        base = types[name].attributes if name in types else {}
        types[name] = EventTypeSpec(name, {**base, **specs})
    ctx.event_types = types
    for type_name in parsed.program.points.pending_days:
        if type_name not in types:
            path: Path = ("program", "points", "pending_days", type_name)
            hint = did_you_mean(type_name, types)
            ctx.problems.append(
                doc.problem(path, f"unknown event type '{type_name}'{hint}", key=True)
            )


def build_envs(ctx: LoadContext, components: tuple[str, ...]) -> None:
    """The CEL environment of each event type: its attributes, the member's, the engagement
    components."""
    attrs = {n: s.type for n, s in ctx.member_attributes.items()}
    for spec in ctx.event_types.values():
        event_attrs = {n: a.type for n, a in spec.attributes.items()}
        ctx.envs[spec.name] = build_env(spec.name, event_attrs, attrs, components)
