"""Word lists for the local extractor."""

from __future__ import annotations

STOPWORDS = frozenset(
    """
a about above after again against all also although always am among an and another any are
as at be because been before being below between both but by can cannot could did do does
doing done down during each either else even ever every few first for from further had has
have having he her here hers him his how however i if in into is it its itself just last
least less let like many may me might more most much must my neither no nor not now of off
often on once one only or other others otherwise our out over own per perhaps rather same
see she should since so some such than that the their them then there therefore these they
this those though through thus to too two under unless until up upon us use used uses using
very via was we well were what whatever when where whether which while who whom whose why
will with within without would yet you your yours chapter section page figure table example
examples note see also following follows new way ways thing things part set make makes made
get gets given give gives called call lot lots etc e.g i.e
""".split()
)

# surface word -> relation name
RELATION_VERBS: dict[str, str] = {
    verb: name
    for name, verbs in {
        "is_a": ["is", "are", "was", "were"],
        "uses": ["uses", "use", "used", "using"],
        "contains": ["contains", "contain", "includes", "include", "holds", "hold"],
        "runs": ["runs", "run", "executes", "execute", "executed", "invokes", "invoke"],
        "creates": ["creates", "create", "created", "generates", "produces", "makes"],
        "reads": ["reads", "read", "loads", "load"],
        "writes": ["writes", "write", "stores", "store", "saves", "save"],
        "returns": ["returns", "return", "prints", "print", "displays", "outputs"],
        "expands": ["expands", "expand", "expanded"],
        "defines": ["defines", "define", "defined", "sets", "specifies"],
        "points_to": ["points", "refers", "references", "links"],
        "calls": ["calls", "called"],
        "born_in": ["born"],
        "founded": ["founded", "established"],
        "located_in": ["located", "situated"],
        "part_of": ["member", "part"],
    }.items()
    for verb in verbs
}
