"""The notices of benchmarks/bench_neardup.py's corpus (benchmarks/neardup_corpus.py): what
government sites publish, in Chinese and in English, written from templates with random facts.

Five kinds (a list made public, a tender, a meeting, new measures, appointments), each a title
and paragraphs: the kind's fixed sentences around facts drawn at random (offices, places,
companies, people, sums, dates, phone numbers), plus sentences from a bank of boilerplate. A
notice's sibling (a hard negative) is written from the same template, office and boilerplate
with other facts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ZH_OFFICES = [
    "市发展和改革委员会", "省财政厅", "市教育局", "区卫生健康委员会", "省科学技术厅", "市生态环境局", "县农业农村局", "市交通运输局", "省人力资源和社会保障厅",
    "市住房和城乡建设局", "市市场监督管理局", "省工业和信息化厅", "市民政局", "区应急管理局", "市文化和旅游局", "省商务厅",
]  # fmt: skip
ZH_PLACES = [
    "东城区", "西湖区", "高新区", "滨江区", "经开区", "南山区", "江北新区", "临港片区", "城南街道", "北湖镇",
]  # fmt: skip
ZH_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
ZH_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞宇浩然晨阳欣怡子涵"
ZH_FIRMS = [
    "华", "中", "东", "新", "恒", "瑞", "博", "天", "宏", "金", "汇", "联", "德", "嘉", "远", "星",
]  # fmt: skip
ZH_TRADES = [
    "科技", "电子", "生物", "材料", "能源", "软件", "环保", "医药", "智能", "机械", "信息", "新能源",
]  # fmt: skip
ZH_PROGRAMS = [
    "高新技术企业", "科技型中小企业", "专精特新企业", "绿色工厂", "企业技术中心", "众创空间", "数字化转型示范项目",
]  # fmt: skip
ZH_PROJECTS = [
    "办公设备采购", "道路维修工程", "信息系统运维服务", "校园安防改造", "医疗设备采购", "污水管网改造", "物业管理服务",
]  # fmt: skip
ZH_TOPICS = [
    "安全生产", "营商环境", "乡村振兴", "数字政府建设", "生态环境保护", "防汛抗旱", "招商引资",
]  # fmt: skip
ZH_POLICIES = [
    "政府投资项目", "人才引进补贴", "中小企业发展专项资金", "公共数据开放", "既有住宅加装电梯", "农村人居环境整治",
]  # fmt: skip
ZH_BOILERPLATE = [
    "各单位要高度重视，加强组织领导，确保各项工作落到实处。", "请各有关单位认真贯彻执行，执行中遇到的问题请及时向我单位反映。", "本通知自印发之日起施行，由我单位负责解释。",
    "各地要结合实际，细化工作措施，明确责任分工，形成工作合力。", "要进一步强化督促检查，对工作推进不力的单位予以通报。", "请于规定时间前将有关材料报送至指定邮箱，逾期不予受理。",
    "各相关部门要加强协调配合，及时研究解决工作中遇到的困难和问题。", "要充分利用报刊、广播、电视和网络等媒体，广泛宣传有关政策。",
    "有关工作情况将纳入年度绩效考核，考核结果向社会公开。", "申报单位应对所提交材料的真实性负责，如有弄虚作假，一经查实取消资格。",
    "本次工作坚持公开、公平、公正的原则，接受社会各界监督。", "各单位要严格落实工作责任制，确保信息报送及时、准确、完整。", "对在工作中表现突出的单位和个人，将按照有关规定给予表彰。",
    "未尽事宜，请与联系人沟通，我们将及时予以答复。", "要坚持问题导向，聚焦重点领域和关键环节，切实提升工作实效。", "请各区县于每月五日前报送上月工作进展情况。",
]  # fmt: skip

EN_OFFICES = [
    "Department of Finance", "Bureau of Education", "Health Commission",
    "Office of Science and Technology", "Environment Agency", "Transport Authority",
    "Department of Housing", "Market Regulation Office", "Department of Commerce",
    "Agriculture Department", "Civil Affairs Bureau", "Culture and Tourism Office",
]  # fmt: skip
EN_PLACES = [
    "Northfield", "Riverside", "Eastgate", "Westbrook", "Harbour District", "Old Town",
    "Hillcrest", "Lakeside",
]  # fmt: skip
EN_FIRST = [
    "Anna", "James", "Maria", "David", "Laura", "Peter", "Sarah", "Thomas", "Emma", "Daniel",
    "Olivia", "Mark", "Grace", "Paul",
]  # fmt: skip
EN_LAST = [
    "Smith", "Brown", "Wilson", "Taylor", "Clarke", "Hughes", "Walker", "Wright", "Green", "Baker",
    "Hall", "Turner", "Cooper", "Ward",
]  # fmt: skip
EN_FIRMS = [
    "Northwind", "Bluepeak", "Greenleaf", "Ironbridge", "Silverline", "Redstone", "Brightwater",
    "Oakfield", "Sunrise", "Clearview", "Highgate", "Westmark",
]  # fmt: skip
EN_TRADES = [
    "Technologies", "Electronics", "Biotech", "Materials", "Energy", "Software", "Environmental",
    "Pharma", "Robotics", "Machinery",
]  # fmt: skip
EN_PROGRAMS = [
    "high-technology enterprises", "innovative small businesses", "green factories",
    "enterprise technology centres", "digital transformation pilots",
]  # fmt: skip
EN_PROJECTS = [
    "office equipment", "road maintenance works", "IT system support services",
    "school security upgrades", "medical equipment", "sewer network renewal",
]  # fmt: skip
EN_TOPICS = [
    "workplace safety", "business environment", "rural development", "digital government",
    "flood prevention", "investment promotion",
]  # fmt: skip
EN_POLICIES = [
    "public investment projects", "talent relocation grants", "small business support funds",
    "open public data", "lifts in existing housing",
]  # fmt: skip
EN_BOILERPLATE = [

    "All units shall give this matter high priority and make sure the work is carried out in full.",
    "Questions arising in the course of implementation should be reported to the office without delay.",
    "This notice takes effect on the date of its publication and is interpreted by the issuing office.",
    "Districts are asked to adapt the measures to local conditions and to assign clear responsibilities.",
    "Supervision will be strengthened, and units that fall behind will be named in a circular.",
    "Applications received after the deadline will not be considered.",
    "The departments concerned shall coordinate closely and resolve difficulties as they arise.",
    "The policy will be publicised through newspapers, radio, television and online media.",
    "Progress will be part of the annual performance review, whose results are made public.",
    "Applicants are responsible for the accuracy of the documents they submit.",
    "The process follows the principles of openness, fairness and impartiality.",
    "Units that distinguish themselves in this work will be commended in accordance with the rules.",
    "For any matter not covered here, please contact the person named below.",
    "Each district shall report its progress for the previous month by the fifth of every month.",
]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
MONTHS += ["September", "October", "November", "December"]
KINDS = ("list", "tender", "meeting", "measures", "appointments")


@dataclass
class Notice:
    """One story as its first publisher wrote it."""

    story: int  # the ground truth: reposts carry their original's story
    lang: str
    kind: str
    title: str
    paragraphs: list[str]
    date: tuple[int, int, int]
    sibling_of: int | None = None  # a hard negative: same template, other facts


class Facts:
    """Random facts in one language; a notice and its sibling share the office and the kind."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng, self.lang = rng, lang

    def person(self) -> str:
        r = self.rng
        if self.lang == "zh":
            return r.choice(ZH_SURNAMES) + "".join(r.sample(ZH_GIVEN, r.randint(1, 2)))
        return f"{r.choice(EN_FIRST)} {r.choice(EN_LAST)}"

    def firm(self) -> str:
        r = self.rng
        if self.lang == "zh":
            return f"{r.choice(ZH_PLACES)[:2]}{''.join(r.sample(ZH_FIRMS, 2))}{r.choice(ZH_TRADES)}有限公司"
        return f"{r.choice(EN_FIRMS)} {r.choice(EN_TRADES)} {r.choice(['Ltd', 'Co.', 'Group', 'Inc.'])}"

    def phone(self) -> str:
        return f"0{self.rng.randint(10, 99)}-{self.rng.randint(10_000_000, 99_999_999)}"

    def date(self) -> tuple[int, int, int]:
        return (
            self.rng.choice([2023, 2024, 2025]),
            self.rng.randint(1, 12),
            self.rng.randint(1, 28),
        )

    def when(self, date: tuple[int, int, int]) -> str:
        y, m, d = date
        if self.lang == "zh":
            return f"{y}年{m}月{d}日"
        return f"{MONTHS[m - 1]} {d}, {y}"


# -- writing notices -------------------------------------------------------------------------

ZH_ARTICLES = [
    "本办法所称{policy}，是指由财政资金安排、用于支持{topic}的专项资金，年度规模约{amount}万元。",
    "申请单位应在{place}依法注册，上一年度营业收入不低于{amount}万元，且纳税信用等级为B级以上。",
    "补助标准按照项目实际投资额的{pct}%确定，单个项目最高不超过{amount}万元。",
    "主管部门应在收到申请后{days}个工作日内完成审核，并将结果在门户网站公示{days2}天。", "资金使用单位应当建立专账，专款专用，主管部门每年组织不少于{k}次绩效评价。",
    "违反本办法规定骗取资金的，责令限期退回，{years}年内不得申报各类专项资金。", "对吸纳本地就业{k}0人以上的项目，补助比例可提高{pct2}个百分点。",
    "本办法自{date}起施行，有效期{years}年。",
]  # fmt: skip
EN_ARTICLES = [

    "For the purposes of these measures, {policy} means the special fund of about {amount} thousand a year supporting {topic}.",
    "Applicants must be registered in {place} with a turnover of at least {amount} thousand in the previous year.",
    "Grants amount to {pct} percent of the investment actually made, up to {amount} thousand per project.",
    "The authority reviews an application within {days} working days and publishes the outcome for {days2} days.",
    "Recipients keep separate accounts for the funds, and at least {k} performance reviews are held each year.",
    "Anyone who obtains funds by fraud repays them and may not apply again for {years} years.",
    "Projects creating more than {k}0 local jobs may receive {pct2} additional percentage points.",
    "These measures take effect on {date} and remain valid for {years} years.",
]  # fmt: skip


def write_notice(
    story: int, lang: str, kind: str, office: str, boiler: list[str], rng: random.Random
) -> Notice:
    """One notice of ``kind`` from ``office``: the kind's sentences with fresh facts, and the
    given boilerplate sentences (a sibling gets the same office and boilerplate)."""
    f = Facts(rng, lang)
    zh = lang == "zh"
    date = f.date()
    year, n = date[0], rng.randint(1, 6)
    place = rng.choice(ZH_PLACES if zh else EN_PLACES)
    later = (year, min(12, date[1] + 1), date[2])
    if kind == "list":
        program = rng.choice(ZH_PROGRAMS if zh else EN_PROGRAMS)
        firms = [f.firm() for _ in range(rng.randint(6, 14))]
        if zh:
            title = f"关于{year}年第{n}批{program}名单的公示"
            paras = [
                f"根据《{program}认定管理办法》有关规定，经企业申报、专家评审和{office}审核等程序，现将{year}年第{n}批拟认定{program}名单予以公示。",
                "拟认定名单如下：" + "；".join(f"{i}. {x}" for i, x in enumerate(firms, 1)) + "。",
                f"公示时间为{f.when(date)}至{f.when(later)}。公示期间，任何单位和个人对名单有异议的，可以书面形式向{office}反映。",
                f"联系人：{f.person()}，联系电话：{f.phone()}。",
            ]
        else:
            title = f"Public notice: round {n} of {year} list of {program}"
            paras = [
                f"Under the rules on {program}, and after applications, expert review and checks by the {office}, the round {n} list of {year} is made public.",
                "The proposed list: "
                + "; ".join(f"{i}. {x}" for i, x in enumerate(firms, 1))
                + ".",
                f"Objections may be sent in writing to the {office} from {f.when(date)} to {f.when(later)}.",
                f"Contact: {f.person()}, telephone {f.phone()}.",
            ]
    elif kind == "tender":
        project = rng.choice(ZH_PROJECTS if zh else EN_PROJECTS)
        code = f"{place[:2] if zh else place[:3].upper()}{year}-{rng.randint(100, 999)}"
        amount, months = rng.randint(50, 5000), rng.choice([6, 12, 24, 36])
        if zh:
            title = f"{office}{place}{project}项目公开招标公告"
            paras = [
                f"{office}就{place}{project}项目（项目编号：{code}）进行公开招标，欢迎符合条件的供应商参加投标。",
                f"一、项目概况：预算金额{amount}万元，服务期限{months}个月，共分{rng.randint(1, 5)}个包。",
                f"二、获取招标文件时间：{f.when(date)}至{f.when(later)}，地点：{place}公共资源交易中心。",
                f"三、投标截止时间：{f.when(later)}上午9时30分。",
                f"四、联系方式：采购人{office}，联系人{f.person()}，电话{f.phone()}；代理机构{f.firm()}，联系人{f.person()}。",
            ]
        else:
            title = f"Tender notice: {project} for {place} ({code})"
            paras = [
                f"The {office} invites qualified suppliers to bid for {project} in {place}, reference {code}.",
                f"1. Budget: {amount} thousand; duration {months} months; {rng.randint(1, 5)} lots.",
                f"2. Tender documents are available from {f.when(date)} to {f.when(later)} at the {place} procurement centre.",
                f"3. Bids close on {f.when(later)} at 9:30.",
                f"4. Contact: {f.person()} at the {office}, telephone {f.phone()}; agent {f.firm()}.",
            ]
    elif kind == "meeting":
        topic = rng.choice(ZH_TOPICS if zh else EN_TOPICS)
        if zh:
            title = f"关于召开{year}年{place}{topic}工作会议的通知"
            paras = [
                f"各有关单位：经研究，定于{f.when(date)}在{place}行政中心{rng.randint(1, 9)}号会议室召开{year}年{topic}工作会议。",
                f"会议内容：总结{year - 1}年{topic}工作，部署{year}年重点任务，表彰{rng.randint(3, 30)}个先进集体。",
                f"参会人员：各单位分管负责同志1名，{f.firm()}等{rng.randint(3, 20)}家企业代表。",
                f"请于{f.when(later)}前将回执报送{office}，联系人：{f.person()}，电话：{f.phone()}。",
            ]
        else:
            title = f"Notice of the {year} {place} meeting on {topic}"
            paras = [
                f"The {year} meeting on {topic} will be held on {f.when(date)} in room {rng.randint(1, 9)} of the {place} civic centre.",
                f"It will review the work of {year - 1}, set the priorities for {year} and honour {rng.randint(3, 30)} teams.",
                f"Each unit sends one deputy head; {rng.randint(3, 20)} companies including {f.firm()} are invited.",
                f"Please reply to the {office} by {f.when(later)}: {f.person()}, telephone {f.phone()}.",
            ]
    elif kind == "measures":
        policy, topic = (
            rng.choice(ZH_POLICIES if zh else EN_POLICIES),
            rng.choice(ZH_TOPICS if zh else EN_TOPICS),
        )
        articles = rng.sample(ZH_ARTICLES if zh else EN_ARTICLES, rng.randint(4, 6))
        slots = {
            "policy": policy, "topic": topic, "place": place, "amount": rng.randint(10, 900),
            "pct": rng.randint(5, 40), "pct2": rng.randint(2, 10), "days": rng.randint(5, 30),
            "days2": rng.randint(5, 10), "k": rng.randint(1, 5), "years": rng.randint(2, 5), "date": f.when(later),
        }  # fmt: skip
        if zh:
            title = f"关于印发《{place}{policy}管理办法》的通知"
            paras = [
                f"各有关单位：《{place}{policy}管理办法》已经{office}第{rng.randint(2, 40)}次会议审议通过，现印发给你们，请认真贯彻执行。"
            ]
            paras += [f"第{i}条 " + a.format(**slots) for i, a in enumerate(articles, 1)]
        else:
            title = f"{place} publishes measures on {policy}"
            paras = [
                f"The measures on {policy} in {place}, adopted at meeting {rng.randint(2, 40)} of the {office}, are published for implementation."
            ]
            paras += [f"Article {i}. " + a.format(**slots) for i, a in enumerate(articles, 1)]
    else:  # appointments
        posts = (
            ["处长", "副处长", "主任", "副主任", "科长"]
            if zh
            else ["director", "deputy director", "head of unit", "chief officer"]
        )
        units = (
            ["办公室", "规划处", "财务处", "法规处", "信息中心"]
            if zh
            else [
                "the general office",
                "planning",
                "finance",
                "legal affairs",
                "the information centre",
            ]
        )
        people = [f.person() for _ in range(rng.randint(3, 7))]
        if zh:
            title = f"{office}关于{people[0]}等同志职务任免的通知"
            lines = [
                f"任命{p}为{rng.choice(units)}{rng.choice(posts)}"
                if rng.random() < 0.6
                else f"免去{p}的{rng.choice(units)}{rng.choice(posts)}职务"
                for p in people
            ]
            paras = [
                f"经{office}党组研究决定：",
                "；".join(lines) + "。",
                f"以上任职时间自{f.when(date)}起计算。",
            ]
        else:
            title = f"Appointments at the {office}: {people[0]} and others"
            lines = [
                f"{p} is appointed {rng.choice(posts)} of {rng.choice(units)}"
                if rng.random() < 0.6
                else f"{p} is relieved as {rng.choice(posts)} of {rng.choice(units)}"
                for p in people
            ]
            paras = [
                f"The {office} has decided as follows:",
                "; ".join(lines) + ".",
                f"The appointments take effect on {f.when(date)}.",
            ]
    paras[1:1] = boiler[: len(boiler) // 2]
    paras += boiler[len(boiler) // 2 :]
    return Notice(story, lang, kind, title, paras, date)
