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
        step += dt.timedelta(hours=rng.randint(4, 48))
        services.ticket_record_callback(
            now=min(step, timezone.now()),
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


HISTORY_MONTHS = 11
HISTORY_PER_MONTH = 120


def _history_lead(item: dict, units: dict, street: Place | None) -> Unit | None:
    if item["expected_unit"] == "street":
        return units.get(street.code) if street else None
    return units.get(item["expected_unit"])


def load_history(log=print, *, seed: int = 2345, per_month: int = HISTORY_PER_MONTH) -> int:
    """Eleven months of handled and rated tickets before the live demo, so the score pages have
    trends, rankings and 每月一题 candidates to show. Callers are on landlines (no SMS is queued:
    the ratings are recorded as phone callbacks, when the resident answered)."""
    # The live demo goes back four weeks at most; anything older is this history.
    if Ticket.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=40)).exists():
        return 0
    rng = random.Random(seed)
    users = {u.username: u for u in User.objects.select_related("unit")}
    units = {u.code: u for u in Unit.objects.all()}
    categories = {c.code: c for c in Category.objects.all()}
    items = [i for i in _load("tickets.json") if i["request_type"] != RequestType.CONSULT and not i.get("group")]
    # Concentrate on the units the demo tickets use most, streets above all, so that several of
    # them reach the ranking minimum in a month instead of 300 units with one rating each.
    lead_of = [(i, _history_lead(i, units, _resolve_place(i["district"], i["street"])[1])) for i in items]
    uses = defaultdict(int)
    for _, lead in lead_of:
        if lead is not None:
            uses[lead.code] += 1
    pool = [(i, lead) for i, lead in lead_of if lead is not None and uses[lead.code] >= 3]
    weights = [3 if lead.kind == UnitKind.STREET else 1 for _, lead in pool]
    quality = {code: rng.uniform(0.55, 0.97) for code in units}  # some units simply do better than others
    first_of_month = timezone.localdate().replace(day=1)
    made = 0
    for back in range(HISTORY_MONTHS, 0, -1):
        month = first_of_month
        for _ in range(back):
            month = (month - dt.timedelta(days=1)).replace(day=1)
        # A seasonal wave: heating complaints in winter, so a category rises and falls.
        winter = month.month in (11, 12, 1, 2, 3)
        for _ in range(per_month + rng.randint(-per_month // 6, per_month // 6)):
            item, lead = rng.choices(pool, weights=weights)[0]
            if not winter and item["expected_unit"] == "heat" and rng.random() < 0.8:
                continue
            district, street = _resolve_place(item["district"], item["street"])
            at = timezone.make_aware(
                dt.datetime.combine(month + dt.timedelta(days=rng.randint(0, 26)), dt.time(rng.choice(CALL_HOURS)))
            ) + dt.timedelta(minutes=rng.randint(0, 59))
            q = quality[lead.code]
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
                    caller_phone=_landline(rng),
                    address=item["address"],
                    district=district,
                    street=street,
                    now=at,
                )
                step = at + dt.timedelta(minutes=rng.randint(10, 120))
                services.ticket_dispatch(ticket=ticket, actor=users["dispatcher1"], lead_unit=lead, now=step)
                handler = users[f"{lead.code}-handler"]
                step += dt.timedelta(hours=rng.randint(1, 20))
                services.ticket_sign(ticket=ticket, actor=handler, now=step)
                # Weaker units are also slower: some replies come after the deadline.
                late = rng.random() > q + 0.05
                step += dt.timedelta(days=rng.randint(16, 25) if late else rng.randint(1, 8))
                resolved = rng.random() < q
                services.ticket_reply(
                    ticket=ticket,
                    actor=handler,
                    result=HandlingResult.RESOLVED if resolved else HandlingResult.EXPLAINED,
                    text=_Story.REPLIES[HandlingResult.RESOLVED if resolved else HandlingResult.EXPLAINED],
                    contacted=rng.random() < q + 0.1,
                    now=step,
                )
                satisfaction = (
                    rng.choices([Satisfaction.SATISFIED, Satisfaction.BASIC], weights=[80, 20])[0]
                    if resolved
                    else rng.choices([Satisfaction.BASIC, Satisfaction.DISSATISFIED], weights=[35, 65])[0]
                )
                services.ticket_record_callback(
                    ticket=ticket,
                    actor=users["operator2"],
                    contacted=rng.random() < q + 0.1,
                    resolved=resolved,
                    satisfaction=satisfaction,
                    comment="" if resolved else "问题没有解决。",
                    now=step + dt.timedelta(hours=rng.randint(2, 60)),
                )
                if not resolved or satisfaction == Satisfaction.DISSATISFIED:
                    services.ticket_close(ticket=ticket, actor=users["supervisor1"], reason="复核后认可办理结果")
            made += 1
    log(f"演示历史：{made} 张过去{HISTORY_MONTHS}个月已办结并回访的工单（用于考核趋势与排名）。")
    return made


def _landline(rng: random.Random) -> str:
    """A Beijing landline that phonenumbers accepts (not every 8-digit block is allocated)."""
    from hotline.phones import PhoneError, normalize_phone

    while True:
        number = f"0106{rng.randint(1000000, 9999999)}"
        try:
            normalize_phone(number)
        except PhoneError:
            continue
        return number


CALL_HOURS = [8, 9, 9, 10, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 19, 20, 21]


def load_scores(log=print) -> None:
    """A weights version, a couple of exemptions, then the rollups built from every event."""
    from hotline.models import Exemption, ScoreWeights
    from hotline.rollups import problems_refresh, rollups_rebuild

    start = (timezone.localdate().replace(day=1) - dt.timedelta(days=366)).replace(day=1)
    ScoreWeights.objects.get_or_create(
        effective_from=start,
        defaults={
            "response": "0.1",
            "resolution": "0.5",
            "satisfaction": "0.4",
            "basic_factor": "0.9",
            # The demo has ~120 rated tickets a month, not a city's 100,000: a lower minimum lets
            # the rankings show something. The default (and production) minimum is 10.
            "min_volume": 5,
            "note": "演示口径：权重0.1/0.5/0.4，k=0.9；演示数据量小，最低有效回访量设为5（默认10）",
        },
    )
    if not Exemption.objects.exists():
        reviews = list(Ticket.objects.filter(status="review", lead_unit__isnull=False).order_by("id")[:2])
        users = {u.username: u for u in User.objects.filter(username__in=["supervisor1"])}
        for n, ticket in enumerate(reviews):
            handler = User.objects.get(username=f"{ticket.lead_unit.code}-handler")
            exemption = services.exemption_request(
                ticket=ticket,
                actor=handler,
                reason_kind="malicious" if n == 0 else "unreasonable",
                reason="诉求人与被反映方存在经济纠纷，回访时表示因纠纷未了给予不满意。"
                if n == 0
                else "诉求人要求补偿超出政策规定标准，已多次解释。",
            )
            if n == 0:
                services.exemption_decide(
                    exemption=exemption, actor=users["supervisor1"], approve=True, reason="经核实属恶意评价。"
                )
    result = rollups_rebuild()
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    for month in (last_month, this_month):
        problems_refresh(month)
    log(f"考核汇总：已由事件重建（{len(result.months)}个月，{result.seconds:.1f}秒）。")


def load_all(log=print) -> None:
    from routing.demo import load_routing

    load_reference(log)
    load_accounts(log)
    load_routing(log)
    load_tickets(log)
    load_history(log)
    load_scores(log)
