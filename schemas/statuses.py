"""Monthly statuses of a citizen and the positive categories, in the agency's hierarchy.

The order of :data:`CATEGORIES` *is* the hierarchy (spec §3): the first category that holds
in a month is the citizen's status. Groups and labels are STAR's own terms (seed 000).
"""

from __future__ import annotations

import msgspec


class Category(msgspec.Struct, frozen=True):
    name: str
    group: str
    label: str


OUT = "out"
EXEMPT = "exempt"
NOT_POSITIVE = "not_positive"

GROUPS: dict[str, str] = {
    "employment": "Afgang til beskæftigelse mv.",
    "other_benefit": "Afklaret til anden ydelse",
    "company": "Virksomhedspraktik mv.",
}

CATEGORIES: tuple[Category, ...] = (
    Category("self_supporting", "employment", "Selvforsørget beskæftigelse"),
    Category("education", "employment", "Uddannelse"),
    Category("flexjob", "employment", "Fleksjob"),
    Category("paid_hours", "employment", "Lønnede timer"),
    Category("foertidspension", "other_benefit", "Førtidspension"),
    Category("ressourceforloeb", "other_benefit", "Ressourceforløb"),
    Category("ledighedsydelse", "other_benefit", "Ledighedsydelse"),
    Category("revalidering", "other_benefit", "Revalidering"),
    Category("loentilskud", "company", "Løntilskud"),
    Category("virksomhedspraktik", "company", "Virksomhedspraktik"),
)

GROUP_OF: dict[str, str] = {c.name: c.group for c in CATEGORIES}
STATUSES: tuple[str, ...] = (OUT, EXEMPT, *GROUP_OF, NOT_POSITIVE)
