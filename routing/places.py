"""Match an address and a text to the most specific place in the gazetteer, and say what matched.

A street name that exists in two districts is resolved by a district named in the same text;
without one it is reported as ambiguous, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from hotline.refcache import ReferenceCache
from routing.models import Place, PlaceLevel
from routing.segmentation import clean


@dataclass(frozen=True)
class Node:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


@dataclass
class PlaceMatch:
    district: Node | None = None
    street: Node | None = None
    community: Node | None = None
    matched: list[tuple[str, str, str]] = field(default_factory=list)  # (surface, place name, source)
    ambiguous: list[str] = field(default_factory=list)  # surfaces that named more than one place

    @property
    def status(self) -> str:
        if self.community:
            return "community"
        if self.street:
            return "street"
        if self.ambiguous:
            return "ambiguous"
        return "district" if self.district else "none"

    @property
    def resolved(self) -> bool:
        """A street (or better) is known: enough to route a territorial (属地) category."""
        return self.street is not None

    def describe(self) -> str:
        if self.status == "none":
            return "未识别到地点"
        parts = [n.name for n in (self.district, self.street, self.community) if n]
        text = "".join(parts)
        if self.ambiguous:
            text += f"（“{'、'.join(self.ambiguous)}”有重名，需人工确认）"
        return text


class Gazetteer(ReferenceCache):
    """Names and aliases of every place, held in memory; reloaded when a reference row changes
    (hotline.refcache) and every few minutes regardless."""

    ttl = 300.0

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[int, Node] = {}
        self.places: dict[int, Place] = {}
        self.surfaces: dict[str, list[int]] = {}
        self.lengths: list[int] = []

    def _load(self) -> None:
        nodes, places, surfaces = {}, {}, defaultdict(set)
        for place in Place.objects.all():
            places[place.pk] = place
            nodes[place.pk] = Node(place.pk, place.code, place.name, place.level, place.parent_id)
            for surface in {place.name, *(place.aliases or [])}:
                if len(surface) >= 2:
                    surfaces[surface].add(place.pk)
        self.nodes = nodes
        # The rows themselves too: a ticket located by the router points at them (no lookup per create).
        self.places = places
        self.surfaces = {s: sorted(ids) for s, ids in surfaces.items()}
        self.lengths = sorted({len(s) for s in self.surfaces}, reverse=True)

    def ready(self) -> Gazetteer:
        return super().ready()

    def place(self, pk: int | None) -> Place | None:
        return self.ready().places.get(pk) if pk is not None else None

    def scan(self, text: str) -> list[tuple[str, list[int]]]:
        """Leftmost-longest matches of known names in ``text``."""
        found, i, n = [], 0, len(text)
        while i < n:
            for length in self.lengths:
                if i + length <= n:
                    ids = self.surfaces.get(text[i : i + length])
                    if ids:
                        found.append((text[i : i + length], ids))
                        i += length
                        break
            else:
                i += 1
        return found

    def match(self, *, address: str = "", text: str = "") -> PlaceMatch:
        self.ready()
        result = PlaceMatch()
        hits: list[tuple[str, list[Node], str]] = []
        for source, body in (("地址", address), ("内容", text)):
            for surface, ids in self.scan(clean(body)):
                hits.append((surface, [self.nodes[i] for i in ids], source))
        if not hits:
            return result

        districts = {n.id for _, nodes, _ in hits for n in nodes if n.level == PlaceLevel.DISTRICT}
        # Hits stay in order (address before text): the first consistent one wins.
        streets: list[Node] = []
        communities: list[Node] = []
        for surface, nodes, source in hits:
            named_districts = [n for n in nodes if n.level == PlaceLevel.DISTRICT]
            s_nodes = [n for n in nodes if n.level == PlaceLevel.STREET]
            c_nodes = [n for n in nodes if n.level == PlaceLevel.COMMUNITY]
            if len(s_nodes) > 1 and districts:
                s_nodes = [n for n in s_nodes if n.parent_id in districts] or s_nodes
            if len(c_nodes) > 1:
                c_nodes = [
                    c
                    for c in c_nodes
                    if self.nodes[c.parent_id].parent_id in districts or any(st.id == c.parent_id for st in streets)
                ] or c_nodes
            if len(s_nodes) > 1 or len(c_nodes) > 1:
                result.ambiguous.append(surface)  # the same name in two places: a person must choose
                continue
            streets += s_nodes
            communities += c_nodes
            for node in named_districts + s_nodes + c_nodes:
                result.matched.append((surface, node.name, source))

        if districts:
            streets = [s for s in streets if s.parent_id in districts] or streets
        if streets:
            communities = [c for c in communities if any(c.parent_id == s.id for s in streets)] or (
                [] if districts else communities
            )
        if communities:
            result.community = communities[0]
            result.street = self.nodes[result.community.parent_id]
        elif streets:
            result.street = streets[0]
        if result.street:
            result.district = self.nodes[result.street.parent_id]
        elif len(districts) == 1:
            result.district = self.nodes[next(iter(districts))]
        elif districts:
            result.ambiguous.append("多个区")
        result.ambiguous = list(dict.fromkeys(result.ambiguous))
        return result


gazetteer = Gazetteer()


def match_place(*, address: str = "", text: str = "") -> PlaceMatch:
    return gazetteer.match(address=address, text=text)
