"""Demo data: Beijing's districts and streets, units, categories, accounts and tickets in every state.

Tickets are driven through the real services, backdated, so their events, assignments and
clocks are exactly what production would have written. Loading twice is safe: reference data
is upserted by code and tickets are only generated into an empty ticket table.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
from collections import defaultdict
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from hotline import services
from hotline.choices import HandlingResult, RequestType, Role, Satisfaction, UnitKind
from hotline.errors import DomainError
from hotline.models import Category, Ticket, Unit, User
from routing.models import Place, PlaceLevel
from routing.services import ticket_route

DATA = Path(__file__).parent / "data"
DEMO_PASSWORD = "hotline-demo"
HUB_ACCOUNTS = [
    ("operator1", Role.OPERATOR, "话务员 小张"),
    ("operator2", Role.OPERATOR, "话务员 小李"),
    ("dispatcher1", Role.DISPATCHER, "派单员 老王"),
    ("supervisor1", Role.SUPERVISOR, "值班长 赵主任"),
    ("auditor1", Role.AUDITOR, "审计员 钱工"),
]


def _load(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _upsert(model, code: str, **fields):
    obj, _ = model.objects.update_or_create(code=code, defaults=fields)
    return obj


@transaction.atomic
def load_reference(log=print) -> dict:
    org = _load("organisation.json")
    hub = _upsert(
        Unit,
        org["hub"]["code"],
        name=org["hub"]["name"],
        short_name=org["hub"]["short_name"],
        kind=UnitKind.HUB,
        parent=None,
        place=None,
    )
    counts: dict[str, int] = defaultdict(int)
    for d in org["districts"]:
        dplace = _upsert(
            Place, d["code"], name=d["name"], level=PlaceLevel.DISTRICT, parent=None, aliases=d.get("aliases", [])
        )
        dunit = _upsert(
            Unit,
            d["code"],
            name=d["unit_name"],
            short_name=d["name"],
            kind=UnitKind.DISTRICT,
            parent=None,
            place=dplace,
            aliases=d.get("aliases", []),
        )
        counts["districts"] += 1
        for st in d["streets"]:
            township = st["kind"] == "township"
            splace = _upsert(
                Place,
                st["code"],
                name=st["name"],
                level=PlaceLevel.STREET,
                parent=dplace,
                aliases=st.get("aliases", []),
                is_township=township,
            )
            sunit = _upsert(
                Unit,
                st["code"],
                name=st["unit_name"],
                short_name=st["name"],
                kind=UnitKind.TOWNSHIP if township else UnitKind.STREET,
                parent=dunit,
                place=splace,
                aliases=st.get("aliases", []),
            )
            counts["streets"] += 1
            for c in st.get("communities", []):
                cplace = _upsert(
                    Place,
                    c["code"],
                    name=c["name"],
                    level=PlaceLevel.COMMUNITY,
                    parent=splace,
                    aliases=c.get("aliases", []),
                )
                suffix = "村民委员会" if c["name"].endswith("村") else "居民委员会"
                _upsert(
                    Unit,
                    c["code"],
                    name=c["name"] + suffix,
                    short_name=c["name"],
                    kind=UnitKind.COMMUNITY,
                    parent=sunit,
                    place=cplace,
                    aliases=c.get("aliases", []),
                )
                counts["communities"] += 1
    for b in org["bureaus"]:
        _upsert(
            Unit,
            b["code"],
            name=b["name"],
            short_name=b["short_name"],
            kind=UnitKind.BUREAU,
            parent=None,
            place=None,
            aliases=b.get("aliases", []),
        )
        counts["bureaus"] += 1
    for e in org["enterprises"]:
        _upsert(
            Unit,
            e["code"],
            name=e["name"],
            short_name=e["short_name"],
            kind=UnitKind.ENTERPRISE,
            parent=None,
            place=None,
            aliases=e.get("aliases", []),
        )
        counts["enterprises"] += 1
    for top in _load("categories.json"):
        parent = _upsert(Category, top["code"], name=top["name"], parent=None, scope="")
        counts["categories"] += 1
        for sub in top["children"]:
            _upsert(Category, sub["code"], name=sub["name"], parent=parent, scope=sub["scope"])
            counts["subcategories"] += 1
    log("参考数据：" + "，".join(f"{k} {v}" for k, v in counts.items()))
    return {"hub": hub, **counts}


@transaction.atomic
def load_accounts(log=print) -> int:
    """Every unit gets <code>-handler and <code>-manager; hashing once keeps ~1,400 accounts fast."""
    password = make_password(DEMO_PASSWORD)
    hub = Unit.objects.get(kind=UnitKind.HUB)
    existing = set(User.objects.values_list("username", flat=True))
    rows = [
        User(username=u, role=r, unit=hub, display_name=n, password=password)
        for u, r, n in HUB_ACCOUNTS
        if u not in existing
    ]
    if "admin" not in existing:
        rows.append(
            User(
                username="admin",
                role=Role.ADMIN,
                unit=hub,
                display_name="系统管理员",
                password=password,
                is_staff=True,
                is_superuser=True,
            )
        )
    for unit in Unit.objects.exclude(kind=UnitKind.HUB):
        for role, suffix, title in ((Role.HANDLER, "handler", "承办人"), (Role.MANAGER, "manager", "负责人")):
            username = f"{unit.code}-{suffix}"
            if username not in existing:
                rows.append(
                    User(
                        username=username,
                        role=role,
                        unit=unit,
                        password=password,
                        display_name=f"{unit.short_name or unit.name}{title}",
                    )
                )
    User.objects.bulk_create(rows, batch_size=500)
    log(f"演示账号：新建 {len(rows)} 个（密码均为 {DEMO_PASSWORD}）")
    return len(rows)


class _Story:
    """Plays one demo ticket through the services up to its target state."""

    REPLIES = {
        HandlingResult.RESOLVED: "经现场核查，已协调相关方完成整改，并电话告知诉求人处理结果，诉求人表示认可。",
        HandlingResult.PARTLY: "已约谈责任方并下达整改通知，部分问题已解决，剩余问题纳入下阶段计划，持续跟进。",
        HandlingResult.EXPLAINED: "已与诉求人沟通，就相关政策规定进行了解释说明，诉求人表示理解。",
        HandlingResult.UNRESOLVABLE: "经核实，该诉求涉及历史遗留问题，暂不具备解决条件，已向诉求人说明原因。",
    }

    def __init__(self, rng: random.Random, users: dict, units: dict):
        self.rng, self.users, self.units = rng, users, units

    def handler_for(self, unit: Unit) -> User:
        return self.users[f"{unit.code}-handler"]

    def play(self, ticket: Ticket, target: str, lead: Unit, assist: list[Unit], at: dt.datetime) -> None:
        u, rng = self.users, self.rng
        step = at + dt.timedelta(minutes=rng.randint(10, 180))
        services.ticket_dispatch(ticket=ticket, actor=u["dispatcher1"], lead_unit=lead, assist_units=assist, now=step)
        if target == "dispatched":
            return
        handler = self.handler_for(lead)
        if target == "return_requested":
            services.ticket_request_return(
                ticket=ticket, actor=handler, reason="经核实，该事项不属于本单位职责范围，建议转相关行业主管部门办理。"
            )
            return
        step += dt.timedelta(minutes=rng.randint(10, 240))
        services.ticket_sign(ticket=ticket, actor=handler, now=min(step, timezone.now()))
        for unit in assist:
            services.ticket_sign(ticket=ticket, actor=self.handler_for(unit), now=min(step, timezone.now()))
        if target == "handling":
            if rng.random() < 0.5:
                services.ticket_contact(ticket=ticket, actor=handler, now=min(step, timezone.now()))
            return
        if target == "extension":
            # Already past its due time: it simply stays in hand, overdue.
            with contextlib.suppress(DomainError):
                services.ticket_request_extension(
                    ticket=ticket,
                    actor=handler,
                    days=rng.choice([3, 5, 7]),
                    reason="涉及多个产权单位，需协调会商，申请延期办理。",
                )
            return
        if target == "termination_requested":
            services.ticket_request_termination(
                ticket=ticket, actor=handler, reason="诉求人拒绝提供具体地址，多次联系未果，无法核实办理。"
            )
            return
        step += dt.timedelta(hours=rng.randint(2, 96))
        result = rng.choices(list(self.REPLIES), weights=[70, 15, 12, 3])[0]
        services.ticket_reply(
            ticket=ticket,
            actor=handler,
            result=result,
            text=self.REPLIES[result],
            contacted=rng.random() < 0.92,
            now=min(step, timezone.now()),
        )
        if target == "replied":
            return
        bad = target == "review"
        services.ticket_record_callback(
            ticket=ticket,
            actor=u["operator2"],
            contacted=True,
            resolved=not bad,
            satisfaction=Satisfaction.DISSATISFIED
            if bad
            else rng.choices([Satisfaction.SATISFIED, Satisfaction.BASIC], weights=[85, 15])[0],
            comment="问题还是没有解决，希望再派人来看看。" if bad else "",
        )
        if target == "reopened":
            services.ticket_reopen(ticket=ticket, actor=u["supervisor1"], reason="回访不满意，退回原单位重新办理。")


TARGETS = [  # (state, weight): the spread a person clicking through the demo should see
    ("received", 8),
    ("dispatched", 10),
    ("handling", 20),
    ("return_requested", 3),
    ("extension", 3),
    ("replied", 12),
    ("review", 4),
    ("reopened", 2),
    ("termination_requested", 2),
    ("closed", 36),
]


AGE_DAYS = {  # how long ago (days) a demo ticket in each state was received
    "received": (0.02, 0.8),
    "dispatched": (0.05, 1.2),
    "handling": (0.3, 9),
    "return_requested": (0.5, 3),
    "extension": (1, 6),
    "replied": (2, 9),
    "review": (4, 14),
    "reopened": (5, 16),
    "termination_requested": (2, 8),
    "closed": (3, 28),
}


def _resolve_place(d_name: str, s_name: str) -> tuple[Place | None, Place | None]:
    district = Place.objects.filter(level=PlaceLevel.DISTRICT, name=d_name).first()
    street = Place.objects.filter(level=PlaceLevel.STREET, name=s_name, parent=district).first()
    return district, street


def load_tickets(log=print, *, seed: int = 12345) -> int:
    if Ticket.objects.exists():
        log("已有工单，跳过演示工单生成。")
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in User.objects.select_related("unit")}
    units = {u.code: u for u in Unit.objects.all()}
    categories = {c.code: c for c in Category.objects.all()}
    story = _Story(rng, users, units)
    now = timezone.now()
    items = _load("tickets.json")
    masters: dict[str, Ticket] = {}
    made = 0
    for item in items:
        district, street = _resolve_place(item["district"], item["street"])
        consult = item["request_type"] == RequestType.CONSULT and rng.random() < 0.8
        group = item.get("group")
        target = "handling" if group else rng.choices([t for t, _ in TARGETS], weights=[w for _, w in TARGETS])[0]
        # A ticket's age fits its state: the queue holds today's calls, closed ones go back weeks.
        low, high = AGE_DAYS["closed" if consult else target]
        at = now - dt.timedelta(days=rng.uniform(low, high))
        with transaction.atomic():
            ticket = services.ticket_create(
                actor=users[rng.choice(["operator1", "operator2"])],
                title=item["title"],
                content=item["content"],
                request_type=item["request_type"],
                channel=item["channel"],
                priority=item["priority"],
                category=categories.get(item["category"]),
                caller_name=item["caller_name"],
                caller_phone=item["caller_phone"],
                caller_id=item["caller_phone"],
                address=item["address"],
                district=district,
                street=street,
                confidential=item.get("confidential", False),
                answer="已根据知识库答复诉求人，诉求人表示清楚。" if consult else "",
                now=at,
            )
            made += 1
            if not consult:
                ticket_route(ticket=ticket, auto_dispatch=False)
                ticket.refresh_from_db()
            if group and group in masters:
                services.ticket_merge(
                    ticket=ticket, master=masters[group], actor=users["operator1"], reason="同一事项重复来电"
                )
                continue
            if consult:
                continue
            lead = (
                units.get(street.code)
                if item["expected_unit"] == "street" and street
                else units.get(item["expected_unit"])
            )
            if group:
                masters[group] = ticket
            if lead is None or target == "received":
                continue
            assist = []
            if item["priority"] == "complex" and street and lead.code != street.code and street.code in units:
                assist = [units[street.code]]
            story.play(ticket, target, lead, assist, at)
    live = _live_urgent_ticket(users, units, categories, now)
    log(f"演示工单：{made + 1} 张，覆盖各办理状态。")
    log(f"  计时演示：紧急工单 {live.number} 已派望京街道，约5分钟后黄灯、约35分钟后红灯（由 beat 每分钟扫描）。")
    return made


def _live_urgent_ticket(users: dict, units: dict, categories: dict, now: dt.datetime) -> Ticket:
    """An urgent ticket whose 2-hour reply clock turns yellow, then red, while someone watches the demo."""
    street = Place.objects.get(code="chaoyang-wangjing")
    at = now - dt.timedelta(minutes=85)
    ticket = services.ticket_create(
        actor=users["operator1"],
        title="望京西园四区楼道燃气味很重",
        priority="urgent",
        request_type=RequestType.HELP,
        content="来电人称望京西园四区5号楼2单元楼道里燃气味很重，已经有半小时了，担心泄漏，请尽快派人处理。",
        category=categories.get("0304"),
        caller_name="孙先生",
        caller_phone="13911112222",
        address="望京西园四区5号楼",
        district=street.parent,
        street=street,
        now=at,
    )
    services.ticket_dispatch(ticket=ticket, actor=users["dispatcher1"], lead_unit=units["chaoyang-wangjing"], now=at)
    return ticket


def load_all(log=print) -> None:
    from routing.demo import load_routing

    load_reference(log)
    load_accounts(log)
    load_routing(log)
    load_tickets(log)
